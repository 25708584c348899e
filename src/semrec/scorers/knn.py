"""Item-based kNN with cosine similarity (``implicit`` library)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.sparse as sp
from pydantic import PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, histories_to_csr


class ItemKNNConfig(FrozenConfig):
    """Item-kNN hyper-parameters (PROTOCOL.md reference: cosine, K = 800)."""

    neighbours: PositiveInt = 800
    """Neighbours kept per item (``implicit``'s ``K``)."""


class ItemKNNScorer(Scorer[ItemKNNConfig]):
    """Item-based kNN with cosine similarity (``implicit.nearest_neighbours.CosineRecommender``).

    Scores are ``x_u S`` with ``S`` the library's sparse top-``K`` item-item cosine matrix.

    References:
        B. Sarwar et al. Item-Based Collaborative Filtering Recommendation Algorithms. WWW 2001.
    """

    name = "item-knn"

    def fit(self, data: TrainData) -> Self:
        from implicit.nearest_neighbours import CosineRecommender

        model = CosineRecommender(K=self.config.neighbours)
        model.fit(data.matrix.tocsr(), show_progress=False)
        self.similarity = model.similarity.tocsr().astype(np.float32)  # (n_items, n_items) sparse
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        return (histories_to_csr(histories, self.fitted_n_items()) @ self.similarity).toarray()

    def get_state(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {"data": s.data, "indices": s.indices, "indptr": s.indptr}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.similarity = sp.csr_matrix((state["data"], state["indices"], state["indptr"]), shape=(n_items, n_items))
        self.n_items = n_items
