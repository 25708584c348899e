"""Re-ranking a scored candidate list: diversity by Maximal Marginal Relevance."""

from __future__ import annotations

import numpy as np


def mmr(
    candidates: np.ndarray, relevance: np.ndarray, embeddings: np.ndarray, k: int, diversity: float
) -> np.ndarray:
    """Maximal Marginal Relevance re-ranking of one candidate list.

    Greedily picks ``argmax_i  (1 - d) * rel_i - d * max_{j in S} cos(e_i, e_j)``, where ``rel`` is the
    relevance min-max scaled to [0, 1] within the candidates, ``S`` the items already picked and
    ``d = diversity``. ``diversity = 0`` returns the relevance order unchanged; ``1`` ignores
    relevance after the first (most relevant) pick.

    Args:
        candidates: ``(m,) int64`` item positions, sorted by relevance (best first).
        relevance: ``(m,) float32`` their scores (any scale), same order.
        embeddings: ``(n_items, dim) float32`` L2-normalised item embeddings.
        k: Items to return.
        diversity: In [0, 1].

    Returns:
        ``(min(k, m),) int64`` item positions in the re-ranked order.

    Raises:
        ValueError: ``diversity`` outside [0, 1], ``k < 1``, or mismatched lengths.

    References:
        J. Carbonell and J. Goldstein. The Use of MMR, Diversity-Based Reranking for Reordering
        Documents and Producing Summaries. SIGIR 1998, doi:10.1145/290941.291025.
    """
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity must be in [0, 1], got {diversity}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(candidates) != len(relevance):
        raise ValueError("candidates and relevance differ in length")
    n = min(k, len(candidates))
    if diversity == 0.0 or n == 0:
        return np.asarray(candidates[:n], dtype=np.int64)
    rel = np.asarray(relevance, dtype=np.float64)
    spread = rel.max() - rel.min()
    rel = (rel - rel.min()) / spread if spread > 0 else np.zeros_like(rel)
    vectors = embeddings[candidates].astype(np.float64)  # (m, dim)
    similarity = vectors @ vectors.T  # (m, m)
    max_similarity = np.zeros(len(candidates))
    chosen = np.zeros(len(candidates), dtype=bool)
    order = []
    for step in range(n):
        value = (1.0 - diversity) * rel - (diversity * max_similarity if step else 0.0)
        value[chosen] = -np.inf
        pick = int(np.argmax(value))  # ties -> the more relevant (earlier) candidate
        order.append(pick)
        chosen[pick] = True
        np.maximum(max_similarity, similarity[pick], out=max_similarity)
    return np.asarray(candidates, dtype=np.int64)[order]
