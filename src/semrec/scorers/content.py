"""Content profile: a user is the recency-weighted mean of their items' text embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from pydantic import Field

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, recency_weights


def content_profiles(embeddings: np.ndarray, histories: Sequence[History], half_life: float | None) -> np.ndarray:
    """Recency-weighted mean of each history's item embeddings, L2-normalised.

    Args:
        embeddings: ``(n_items, dim) float32`` item text embeddings.
        histories: One :data:`~semrec.scorers.base.History` per profile.
        half_life: See :func:`~semrec.scorers.base.recency_weights`.

    Returns:
        ``(len(histories), dim) float32``; zero rows for empty histories.
    """
    out = np.zeros((len(histories), embeddings.shape[1]), dtype=np.float32)
    for row, history in enumerate(histories):
        if len(history):
            out[row] = recency_weights(len(history), half_life) @ embeddings[history]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


class ContentProfileConfig(FrozenConfig):
    """Content profile: a user is the recency-weighted mean of their items' text embeddings."""

    half_life: float | None = Field(3.0, gt=0)
    """Interactions after which an item's weight halves; ``None`` weighs the whole history equally.
    3 was best on the ML-100K P1 validation slice (NDCG@10 0.0213 vs 0.0099 at 20, 0.0085 uniform)."""


class ContentProfileScorer(Scorer[ContentProfileConfig]):
    """Cosine between a user's text profile and every item's text embedding.

    ``profile = normalise(sum_j w_j e_j)`` with ``w_j = 0.5 ** (age_j / half_life)``, ``age_j`` the
    number of interactions since item ``j``; ``score_i = e_i . profile`` in [-1, 1].

    References:
        M. Pazzani and D. Billsus. Content-Based Recommendation Systems. The Adaptive Web, 2007.
    """

    name = "content-profile"
    requires_embeddings = True

    def fit(self, data: TrainData) -> Self:
        self.bind_embeddings(data.item_embeddings)
        self._check_embeddings()
        self.n_items = data.n_items
        return self

    def profiles(self, histories: Sequence[History]) -> np.ndarray:
        """``(len(histories), dim) float32`` L2-normalised profiles; zero rows for empty histories."""
        return content_profiles(self._check_embeddings(), histories, self.config.half_life)

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        return self.profiles(histories) @ self._check_embeddings()[: self.n_items].T

    def get_state(self) -> dict[str, np.ndarray]:
        return {}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.n_items = n_items
