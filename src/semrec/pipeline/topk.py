"""Exact top-k selection with exclusion (already-seen items, business filters)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def top_k(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best items of each row, best first, skipping excluded items.

    Args:
        scores: ``(n, n_items) float32``; higher is better. Not modified.
        k: List length, ``>= 1``.
        exclude: ``(n, n_items)`` sparse mask; a stored entry removes that item from the row.

    Returns:
        ``(indices, values)``: ``(n, k) int64`` item positions and ``(n, k) float32`` scores.
        When a row has fewer than ``k`` eligible items the tail is ``-1`` / ``-inf``.
        Ties are broken by the lower item position (stable, deterministic).

    Raises:
        ValueError: ``k < 1`` or shapes disagree.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scores = np.array(scores, dtype=np.float32, copy=True)
    n, n_items = scores.shape
    if exclude is not None:
        if exclude.shape != scores.shape:
            raise ValueError(f"exclude has shape {exclude.shape}, scores {scores.shape}")
        coo = exclude.tocoo()
        scores[coo.row, coo.col] = -np.inf
    scores[np.isnan(scores)] = -np.inf
    kk = min(k, n_items)
    if kk < n_items:
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]  # (n, kk) unordered
    else:
        part = np.broadcast_to(np.arange(n_items), (n, n_items))
    part_scores = np.take_along_axis(scores, part, axis=1)
    # sort by score desc, then item position asc (lexsort: last key is primary)
    order = np.lexsort((part, -part_scores), axis=1)
    indices = np.take_along_axis(part, order, axis=1).astype(np.int64)
    values = np.take_along_axis(part_scores, order, axis=1)
    # ties at the partition boundary: recompute exactly for rows where the kth score is tied outside
    kth = values[:, -1:]
    tied = (scores == kth).sum(axis=1) > (values == kth).sum(axis=1)
    for row in np.flatnonzero(tied & np.isfinite(kth[:, 0])):
        full = np.lexsort((np.arange(n_items), -scores[row]))[:kk]
        indices[row], values[row] = full, scores[row, full]
    invalid = ~np.isfinite(values)
    indices[invalid], values[invalid] = -1, -np.inf
    if kk < k:
        indices = np.pad(indices, ((0, 0), (0, k - kk)), constant_values=-1)
        values = np.pad(values, ((0, 0), (0, k - kk)), constant_values=-np.inf)
    return indices, values


def select(
    scores: np.ndarray, blocked: np.ndarray, k: int, diversity: float, reranker, history: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The top-k stage of one request: block, take the ``k`` best (or a pool of ``max(5k, 50)`` for
    the re-ranker when ``diversity > 0``) and re-rank the pool.

    Args:
        scores: ``(n_items,) float32`` pipeline scores.
        blocked: ``(n_items,) bool`` items that must not be returned.
        reranker: A :class:`~semrec.pipeline.rerank.Reranker` (used only when ``diversity > 0``).
        history: ``(n,) int64`` the request's history (calibration reads it).

    Returns:
        ``(chosen (m,) int64, chosen_scores (m,) float32)`` with ``m <= k``.
    """
    scores = np.where(blocked, np.float32(-np.inf), scores)
    pool = k if diversity == 0 else max(5 * k, 50)
    indices, values = top_k(scores[None, :], pool)
    keep = indices[0] >= 0
    chosen, chosen_scores = indices[0][keep][:k], values[0][keep][:k]
    if diversity > 0 and len(chosen):
        chosen = reranker.rerank(indices[0][keep], values[0][keep], history, k, diversity)
        chosen_scores = scores[chosen]
    return chosen, chosen_scores
