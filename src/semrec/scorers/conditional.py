"""The item-conditional model: item-to-item conditional probabilities (Deshpande and Karypis 2004)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from pydantic import PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, cooccurrence


class ItemConditionalConfig(FrozenConfig):
    """Item-conditional model hyper-parameters."""

    max_items: PositiveInt = 40_000
    """Refuse catalogues larger than this: the model holds an (n_items, n_items) float32 matrix."""


class ItemConditionalScorer(Scorer[ItemConditionalConfig]):
    """The item-conditional model: ``score_j = mean_{i in history} P(j | i)``.

    ``P(j | i)`` = users who interacted with both / users who interacted with ``i``. Unlike EASE or
    cosine kNN it keeps the popularity in the neighbourhood, which is what a user with only a few
    interactions needs: on MovieLens-100K P2 it beats EASE fold-in at every onboarding size.

    Attributes:
        weights: ``(n_items, n_items) float32``; row ``i`` is ``P(. | i)``, zero diagonal.

    References:
        M. Deshpande and G. Karypis. Item-Based Top-N Recommendation Algorithms. ACM TOIS 22(1),
        2004, doi:10.1145/963770.963776.
    """

    name = "item-conditional"

    def fit(self, data: TrainData) -> Self:
        """Count co-occurrences.

        Raises:
            ValueError: More than ``max_items`` items.
        """
        both = cooccurrence(data, self.config.max_items, "item-conditional model")  # (n_items, n_items)
        both = both.astype(np.float32)
        counts = np.diag(both).copy()
        np.fill_diagonal(both, 0.0)
        self.weights = both / np.maximum(counts, 1.0)[:, None]  # row i: P(j | i)
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        out = np.zeros((len(histories), self.fitted_n_items()), dtype=np.float32)
        for row, history in enumerate(histories):
            if len(history):
                out[row] = self.weights[np.unique(history)].mean(axis=0)
        return out

    def get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.weights, self.n_items = np.ascontiguousarray(state["weights"], dtype=np.float32), n_items
