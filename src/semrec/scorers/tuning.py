"""The hybrid's order-dependent hyper-parameters, chosen by ``fit`` on a validation slice of its own data.

How much order matters is a property of how a recommender is used, not of the model: a service
asked "what comes next" (P1, P4) gains from recency weighting and next-item rules; one asked "what
is missing" (Microsoft Recommenders' random split, :data:`~semrec.evaluation.protocols.PROTOCOLS`
``MSR``) loses 40% NDCG with them. So the hybrid carves a validation slice from its training
histories the way the data is used (:attr:`semrec.scorers.TrainData.holdout`):

* ``temporal``: each sampled user's last ``max(1, floor(fraction * n))`` items;
* ``random``: a seeded random ``max(1, floor(fraction * n))`` of each sampled user's items;

fits EASE on the rest for each ``l2`` in the grid, scores the held-out items with every
``(ease_decay, short_weight)`` pair, and keeps the triple with the best NDCG@10 (ties: the earlier
grid entry). The grid is small and the slice is capped at ``max_users`` users, so the cost is a few
EASE solves on the catalogue plus one sparse-dense product per decay: about 3 s on ML-100K and
40 s on ML-1M (2 cores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from semrec.scorers.base import History, histories_to_csr, sparse_times_dense, standardise_rows
from semrec.scorers.rules import decayed_matrix, sequential_rules


@dataclass(frozen=True)
class Choice:
    """The chosen values and the validation NDCG@10 of each grid point ``(l2, decay, short_weight)``."""

    l2: float
    ease_decay: float
    short_weight: float
    ndcg: float
    grid: dict[tuple[float, float, float], float]
    sequence_weight: float = 0.0
    sequence_grid: dict[float, float] | None = None
    """Validation NDCG@10 per weight of the sequence model's score (``None``: no sequence model)."""
    model: Any = None
    """The sequence model, fitted on the carved histories (``None``: none was fitted)."""


def carve(
    histories: Sequence[History], holdout: str, fraction: float, min_length: int, max_users: int, seed: int = 42
) -> tuple[list[History], list[np.ndarray], np.ndarray]:
    """Split sampled users' histories into what the model sees and what it must find.

    Args:
        histories: Time-ordered item positions per user.
        holdout: ``"temporal"`` (the last items) or ``"random"`` (seeded random items).
        fraction: Share of each sampled user's items held out (at least one).
        min_length: Users with shorter histories keep them whole and are not scored.
        max_users: At most this many users are scored (a seeded sample).

    Returns:
        ``(train histories for every user, held-out positions per scored user, scored user rows)``.

    Raises:
        ValueError: ``holdout`` is neither ``temporal`` nor ``random``.
    """
    if holdout not in ("temporal", "random"):
        raise ValueError(f"holdout must be 'temporal' or 'random', got {holdout!r}")
    rng = np.random.default_rng(seed)
    eligible = np.flatnonzero([len(h) >= min_length for h in histories])
    if len(eligible) > max_users:
        eligible = np.sort(rng.choice(eligible, max_users, replace=False))
    train: list[History] = list(histories)
    held: list[np.ndarray] = []
    for row in eligible.tolist():
        history = np.asarray(histories[row])
        n_out = max(1, int(fraction * len(history)))
        if holdout == "temporal":
            keep = np.arange(len(history)) < len(history) - n_out
        else:
            keep = np.ones(len(history), dtype=bool)
            keep[rng.choice(len(history), n_out, replace=False)] = False
        train[row] = history[keep]
        held.append(history[~keep])
    return train, held, eligible


_DISCOUNT = 1.0 / np.log2(np.arange(2, 12))
_IDEAL = np.array([float(_DISCOUNT[:m].sum()) for m in range(11)])
"""Ideal DCG@10 with ``m`` relevant items (index ``m``, ``m <= 10``)."""
_DCG = np.array([float(((pattern >> np.arange(10)) & 1).astype(bool) @ _DISCOUNT) for pattern in range(1 << 10)])
"""DCG@10 of each hit pattern (bit ``r`` set: the item at rank ``r`` is relevant)."""


def ndcg_at_10(scores: np.ndarray, seen: Sequence[History], held: Sequence[np.ndarray]) -> float:
    """Mean NDCG@10 (binary relevance) of ``(n, n_items)`` scores, each row's ``seen`` items excluded.

    Row ``r`` of ``scores`` belongs to ``seen[r]`` and ``held[r]``; the mean is over ``held``'s rows.
    Vectorised (a hit-pattern lookup for DCG, then a left-to-right sum): the value is bit for bit that
    of the per-row loop ``sum(dcg_r / idcg_r) / n``.
    """
    scores = scores.copy()
    lengths = [len(items) for items in seen]
    if sum(lengths):
        scores[np.repeat(np.arange(len(seen)), lengths), np.concatenate([np.asarray(s) for s in seen])] = -np.inf
    n = len(held)
    if n == 0:
        return 0.0
    top = np.argpartition(-scores[:n], 10, axis=1)[:, :10]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores[:n], top, 1), axis=1), 1)
    sizes = np.array([len(items) for items in held], dtype=np.int64)
    relevant = np.zeros((n, scores.shape[1]), dtype=bool)
    if sizes.sum():
        relevant[np.repeat(np.arange(n), sizes), np.concatenate([np.asarray(h) for h in held])] = True
    pattern = np.take_along_axis(relevant, top, 1).astype(np.int64) @ (1 << np.arange(10))
    terms = _DCG[pattern] / _IDEAL[np.minimum(sizes, 10)]
    total = 0.0
    for term in terms.tolist():  # left to right, as the per-row loop adds
        total += term
    return total / n


def choose(
    histories: Sequence[History],
    n_items: int,
    holdout: str,
    l2_grid: Sequence[float],
    decay_grid: Sequence[float],
    short_grid: Sequence[float],
    short_rules,
    fraction: float = 0.1,
    min_length: int = 5,
    max_users: int = 3000,
    sequence=None,
    sequence_grid: Sequence[float] = (),
) -> Choice | None:
    """Pick ``(l2, ease_decay, short_weight)`` by validation NDCG@10 (module docstring), then the
    weight of a sequence model's standardised score with the others fixed.

    Args:
        short_rules: The hybrid's :class:`~semrec.scorers.rules.SequentialRulesConfig` for next-item rules.
        sequence: Called with the carved training histories, returns a fitted scorer (its
            ``score`` gives ``(n, n_items)`` scores of histories); ``None``: no sequence model.
        sequence_grid: Weights tried for it (0 included: it may be dropped).

    Returns:
        The :class:`Choice`, or ``None`` when fewer than 10 users can be scored.
    """
    train, held, rows = carve(histories, holdout, fraction, min_length, max_users)
    if len(rows) < 10:
        return None
    binary = histories_to_csr(train, n_items)
    gram = (binary.T @ binary).toarray().astype(np.float64)
    scored = [train[r] for r in rows]
    rules = sequential_rules(train, n_items, short_rules.window, short_rules.gap_decay, short_rules.normalise)
    rule_scores = standardise_rows(
        sparse_times_dense(decayed_matrix(scored, n_items, short_rules.history_decay), rules)
    )
    decayed = {d: decayed_matrix(scored, n_items, d) for d in decay_grid}
    grid: dict[tuple[float, float, float], float] = {}
    for l2 in l2_grid:
        penalised = gram.copy()
        penalised[np.diag_indices_from(penalised)] += l2
        inverse = scipy.linalg.inv(penalised, overwrite_a=True, check_finite=False)
        weights = (inverse / (-np.diag(inverse))).astype(np.float32)
        weights[np.diag_indices_from(weights)] = 0.0
        for decay in decay_grid:
            ease = standardise_rows(sparse_times_dense(decayed[decay], weights))
            for short in short_grid:
                grid[(l2, decay, short)] = ndcg_at_10(ease + short * rule_scores, scored, held)
    best = max(grid, key=lambda key: (grid[key], -list(grid).index(key)))
    if sequence is None or not sequence_grid:
        return Choice(*best, grid[best], grid)
    model = sequence(train)
    l2, decay, short = best
    penalised = gram
    penalised[np.diag_indices_from(penalised)] += l2
    inverse = scipy.linalg.inv(penalised, overwrite_a=True, check_finite=False)
    weights = (inverse / (-np.diag(inverse))).astype(np.float32)
    weights[np.diag_indices_from(weights)] = 0.0
    base = standardise_rows(sparse_times_dense(decayed[decay], weights)) + short * rule_scores
    learned = standardise_rows(model.score(scored))
    by_weight = {float(w): ndcg_at_10(base + w * learned, scored, held) for w in sequence_grid}
    weight = max(by_weight, key=lambda w: (by_weight[w], -list(by_weight).index(w)))
    return Choice(l2, decay, short, by_weight[weight], grid, weight, by_weight, model)
