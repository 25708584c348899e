"""Most-popular: the same ranking for everyone, the baseline every model must beat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData


class MostPopularConfig(FrozenConfig):
    """MostPopular has no hyper-parameters."""


class MostPopularScorer(Scorer[MostPopularConfig]):
    """Scores each item by the number of distinct users who interacted with it (same for everyone).

    Attributes:
        counts: ``(n_items,) float32`` distinct users per item.
    """

    name = "most-popular"

    def fit(self, data: TrainData) -> Self:
        self.n_items = data.n_items
        self.counts = np.asarray(data.matrix.sum(axis=0), dtype=np.float32).ravel()  # (n_items,)
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(histories), self.fitted_n_items())).copy()

    def get_state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.counts, self.n_items = state["counts"].astype(np.float32), n_items
