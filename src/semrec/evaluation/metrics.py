"""Top-k metrics with binary relevance (semrec PROTOCOL.md).

All functions take ``recommended``, a ``(n_users, k) int64`` array of item positions, best
first, ``-1`` padding a short list, and return per-user values (average them yourself) or,
for catalogue-level metrics, one float.

References:
    K. Jarvelin and J. Kekalainen. Cumulated Gain-based Evaluation of IR Techniques. TOIS 2002 (NDCG).
    M. Kaminskas and D. Bridge. Diversity, Serendipity, Novelty, and Coverage. TiiS 2016 (ILD, novelty, coverage).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _hits(recommended: np.ndarray, relevant: Sequence[np.ndarray]) -> np.ndarray:
    """``(n_users, k) bool``: is the item at each rank relevant."""
    hits = np.zeros(recommended.shape, dtype=bool)
    for row, items in enumerate(relevant):
        hits[row] = np.isin(recommended[row], items) & (recommended[row] >= 0)
    return hits


def ranking_metrics(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> dict[str, np.ndarray]:
    """NDCG@k, Recall@k, HR@k, MRR@k and Precision@k per user.

    Args:
        recommended: ``(n_users, >= k) int64`` ranked item positions (only the first k are read).
        relevant: One array of relevant item positions per user (non-empty).
        k: Cut-off.

    Returns:
        ``{"NDCG": ..., "Recall": ..., "HR": ..., "MRR": ..., "Precision": ...}``, each
        ``(n_users,) float64`` in [0, 1]. NDCG uses a log2 discount and the ideal DCG over
        ``min(|relevant|, k)`` items; Recall = hits / |relevant|.

    Raises:
        ValueError: A user with no relevant item, or fewer than ``k`` columns.
    """
    if recommended.shape[1] < k:
        raise ValueError(f"need at least k={k} recommendations per user, got {recommended.shape[1]}")
    n_relevant = np.array([len(np.unique(r)) for r in relevant], dtype=np.float64)
    if (n_relevant == 0).any():
        raise ValueError("every evaluated user needs at least one relevant item")
    hits = _hits(recommended[:, :k], relevant).astype(np.float64)  # (n_users, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))  # (k,)
    dcg = hits @ discounts
    ideal = np.cumsum(discounts)[np.minimum(n_relevant, k).astype(int) - 1]
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, np.inf)
    return {
        "NDCG": dcg / ideal,
        "Recall": hits.sum(axis=1) / n_relevant,
        "HR": hits.any(axis=1).astype(np.float64),
        "MRR": 1.0 / first,
        "Precision": hits.sum(axis=1) / k,
    }


def coverage(recommended: np.ndarray, n_items: int) -> float:
    """Coverage@k: distinct recommended items / catalogue size, in [0, 1]."""
    return float(len(np.unique(recommended[recommended >= 0])) / n_items) if n_items else 0.0


def intra_list_diversity(recommended: np.ndarray, item_tags: Sequence[frozenset]) -> np.ndarray:
    """ILD@k: mean pairwise Jaccard distance of item tag sets (genres) inside each list.

    Two items with no tags at all have distance 0. Lists with fewer than 2 items score 0.

    Returns:
        ``(n_users,) float64`` in [0, 1].
    """
    out = np.zeros(len(recommended), dtype=np.float64)
    for row, items in enumerate(recommended):
        tags = [item_tags[i] for i in items if i >= 0]
        pairs, total = 0, 0.0
        for a in range(len(tags)):
            for b in range(a + 1, len(tags)):
                union = len(tags[a] | tags[b])
                total += 0.0 if union == 0 else 1.0 - len(tags[a] & tags[b]) / union
                pairs += 1
        out[row] = total / pairs if pairs else 0.0
    return out


def novelty(recommended: np.ndarray, train_counts: np.ndarray) -> np.ndarray:
    """Novelty@k: mean ``-log2`` of each recommended item's share of train interactions.

    An item's share is ``(count + 1) / (total + n_items)`` (add-one smoothing, so items unseen in
    train have a finite novelty).

    Args:
        recommended: ``(n_users, k) int64``.
        train_counts: ``(n_items,)`` train interactions per item.

    Returns:
        ``(n_users,) float64`` bits, >= 0.
    """
    counts = np.asarray(train_counts, dtype=np.float64)
    information = -np.log2((counts + 1.0) / (counts.sum() + len(counts)))
    valid = recommended >= 0
    values = np.where(valid, information[np.where(valid, recommended, 0)], 0.0)
    return values.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
