"""Re-rankers: reorder a scored candidate list for diversity or calibration.

Every re-ranker takes the candidates (best first), their relevance, the user's history and
a ``diversity`` knob in [0, 1]; ``diversity = 0`` always returns the relevance order unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from semrec.data.tables import split_list


def _check(candidates: np.ndarray, relevance: np.ndarray, k: int, diversity: float) -> int:
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity must be in [0, 1], got {diversity}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(candidates) != len(relevance):
        raise ValueError("candidates and relevance differ in length")
    return min(k, len(candidates))


def _scaled(relevance: np.ndarray) -> np.ndarray:
    rel = np.asarray(relevance, dtype=np.float64)
    spread = rel.max() - rel.min()
    return (rel - rel.min()) / spread if spread > 0 else np.zeros_like(rel)


class Reranker(Protocol):
    """Reorders candidates; see the module docstring."""

    name: str

    def rerank(
        self, candidates: np.ndarray, relevance: np.ndarray, history: np.ndarray, k: int, diversity: float
    ) -> np.ndarray:
        """``(min(k, m),) int64`` item positions, a subset of ``candidates``."""
        ...


def mmr(candidates: np.ndarray, relevance: np.ndarray, similarity: np.ndarray, k: int, diversity: float) -> np.ndarray:
    """Maximal Marginal Relevance re-ranking of one candidate list.

    Greedily picks ``argmax_i  (1 - d) * rel_i - d * max_{j in S} sim(i, j)``, where ``rel`` is the
    relevance min-max scaled to [0, 1] within the candidates, ``S`` the items already picked and
    ``d = diversity``. ``diversity = 0`` returns the relevance order unchanged; ``1`` ignores
    relevance after the first (most relevant) pick.

    Args:
        candidates: ``(m,) int64`` item positions, sorted by relevance (best first).
        relevance: ``(m,) float32`` their scores (any scale), same order.
        similarity: ``(m, m)`` pairwise similarity of the candidates, in [-1, 1] or [0, 1].
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
    n = _check(candidates, relevance, k, diversity)
    if diversity == 0.0 or n == 0:
        return np.asarray(candidates[:n], dtype=np.int64)
    rel = _scaled(relevance)
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


def tag_matrix(tags: Sequence[object]) -> tuple[np.ndarray, list[str]]:
    """Row-normalised item x tag distribution from ``"A|B"`` cells.

    Returns:
        ``((n_items, n_tags) float64`` with rows summing to 1 (0 for untagged items), tag names)``.
    """
    parsed = [split_list(t) for t in tags]
    names = sorted({t for ts in parsed for t in ts})
    column = {t: j for j, t in enumerate(names)}
    out = np.zeros((len(parsed), len(names)))
    for row, ts in enumerate(parsed):
        for t in ts:
            out[row, column[t]] = 1.0 / len(ts)
    return out, names


class MMRReranker:
    """:func:`mmr` with text-embedding cosine similarity (works for any catalogue with text).

    Args:
        embeddings: ``(n_items, dim) float32`` L2-normalised.
    """

    name = "mmr"

    def __init__(self, embeddings: np.ndarray) -> None:
        self.embeddings = embeddings

    def rerank(self, candidates, relevance, history, k, diversity):
        vectors = self.embeddings[candidates].astype(np.float64)  # (m, dim)
        return mmr(candidates, relevance, vectors @ vectors.T, k, diversity)


class TagMMRReranker:
    """:func:`mmr` with tag-set (genre) Jaccard similarity: optimises ILD over tags directly.

    Args:
        item_tags: ``(n_items, n_tags)``; non-zero where the item has the tag (:func:`tag_matrix`).
    """

    name = "mmr-tags"

    def __init__(self, item_tags: np.ndarray) -> None:
        self.indicator = (np.asarray(item_tags) > 0).astype(np.float64)

    def rerank(self, candidates, relevance, history, k, diversity):
        tags = self.indicator[candidates]  # (m, n_tags)
        inter = tags @ tags.T
        sizes = tags.sum(axis=1)
        union = sizes[:, None] + sizes[None, :] - inter
        jaccard = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        return mmr(candidates, relevance, jaccard, k, diversity)


class CalibratedReranker:
    """Calibrated recommendations: the list's tag (genre) mix follows the user's history.

    Greedily adds ``argmax_i (1 - d) * rel_i - d * KL(p || q~(L + i))`` where ``p`` is the tag
    distribution of the user's history (recency-unweighted), ``q`` that of the list, ``q~ = (1 -
    alpha) q + alpha p`` and ``rel`` the relevance min-max scaled within the candidates.

    Args:
        item_tags: ``(n_items, n_tags)`` row-normalised tag distribution (:func:`tag_matrix`).
        alpha: Smoothing of ``q`` toward ``p`` (Steck uses 0.01).

    References:
        H. Steck. Calibrated Recommendations. RecSys 2018, doi:10.1145/3240323.3240372.
    """

    name = "calibrated"

    def __init__(self, item_tags: np.ndarray, alpha: float = 0.01) -> None:
        self.item_tags = item_tags
        self.alpha = alpha

    def rerank(self, candidates, relevance, history, k, diversity):
        n = _check(candidates, relevance, k, diversity)
        if diversity == 0.0 or n == 0 or len(history) == 0:
            return np.asarray(candidates[:n], dtype=np.int64)
        p = self.item_tags[np.asarray(history)].sum(axis=0)
        if p.sum() == 0:
            return np.asarray(candidates[:n], dtype=np.int64)
        p = p / p.sum()
        rel = _scaled(relevance)
        tags = self.item_tags[candidates]  # (m, n_tags)
        chosen = np.zeros(len(candidates), dtype=bool)
        total = np.zeros_like(p)
        support = p > 0
        order = []
        for step in range(n):
            q = (total[None, :] + tags) / (step + 1)  # (m, n_tags) list distribution with each candidate
            q_smooth = (1 - self.alpha) * q + self.alpha * p[None, :]
            kl = (p[support][None, :] * np.log(p[support][None, :] / q_smooth[:, support])).sum(axis=1)
            value = (1.0 - diversity) * rel - diversity * kl
            value[chosen] = -np.inf
            pick = int(np.argmax(value))
            order.append(pick)
            chosen[pick] = True
            total += tags[pick]
        return np.asarray(candidates, dtype=np.int64)[order]


class TopicDiversificationReranker:
    """Topic diversification: rank-based gains traded against mean tag dissimilarity to the list.

    Greedily adds ``argmax_i (1 - d) * g(r_i) + d * mean_{j in S} (1 - jaccard(i, j))`` where ``r_i`` is
    the candidate's rank in the relevance order and ``g(r) = 1 / log2(r + 2)`` (the NDCG gain), so the
    trade-off is expressed in the units of the two metrics it moves: NDCG@k and ILD@k (the mean
    pairwise dissimilarity is exactly what ILD averages).

    Args:
        item_tags: ``(n_items, n_tags)``; non-zero where the item has the tag (:func:`tag_matrix`).
        pool: Candidates considered (the head of the relevance order); 30 was chosen on the
            ML-100K P1 validation slice.

    References:
        C.-N. Ziegler, S. McNee, J. Konstan, G. Lausen. Improving Recommendation Lists Through Topic
        Diversification. WWW 2005, doi:10.1145/1060745.1060754.
    """

    name = "topic"

    def __init__(self, item_tags: np.ndarray, pool: int = 30) -> None:
        self.indicator = (np.asarray(item_tags) > 0).astype(np.float64)
        self.pool = pool

    def rerank(self, candidates, relevance, history, k, diversity):
        n = _check(candidates, relevance, k, diversity)
        if diversity == 0.0 or n == 0:
            return np.asarray(candidates[:n], dtype=np.int64)
        candidates = np.asarray(candidates, dtype=np.int64)[: max(self.pool, n)]
        gain = 1.0 / np.log2(np.arange(len(candidates)) + 2.0)
        tags = self.indicator[candidates]
        inter = tags @ tags.T
        sizes = tags.sum(axis=1)
        union = sizes[:, None] + sizes[None, :] - inter
        distance = 1.0 - np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        np.fill_diagonal(distance, 0.0)
        total = np.zeros(len(candidates))
        chosen = np.zeros(len(candidates), dtype=bool)
        order = []
        for step in range(n):
            value = (1.0 - diversity) * gain + (diversity * total / step if step else 0.0)
            value[chosen] = -np.inf
            pick = int(np.argmax(value))
            order.append(pick)
            chosen[pick] = True
            total += distance[pick]
        return candidates[order]


RERANKERS = ("mmr", "mmr-tags", "calibrated", "topic")
"""Re-ranker names: MMR over text embeddings, MMR over tag (genre) Jaccard, calibration to the
history's tags, topic diversification (rank gains vs mean tag dissimilarity)."""


def build_reranker(name: str, item_embeddings: np.ndarray, item_tags: Sequence[object]) -> Reranker:
    """The re-ranker called ``name`` over this catalogue.

    Raises:
        ValueError: Unknown name.
    """
    if name == "mmr":
        return MMRReranker(item_embeddings)
    if name == "mmr-tags":
        return TagMMRReranker(tag_matrix(item_tags)[0])
    if name == "calibrated":
        return CalibratedReranker(tag_matrix(item_tags)[0])
    if name == "topic":
        return TopicDiversificationReranker(tag_matrix(item_tags)[0])
    raise ValueError(f"unknown reranker {name!r}; choose from {', '.join(RERANKERS)}")
