"""EASE over the catalogue's head (plus, optionally, sparse item-kNN over all of it): item-item scoring at any size.

EASE (Steck 2019) needs a dense ``(n_items, n_items)`` inverse: 274 GiB for Book-Crossing's
271k books. Interactions concentrate on a head of popular items, and that is where most of
EASE's gain over item-kNN lies, so this scorer solves EASE on the ``head_items`` most
interacted items only (memory ``head_items^2``, fixed however large the catalogue), and scores
the whole catalogue with implicit's top-``neighbours`` sparse cosine item-kNN (memory linear in
the catalogue) when ``knn_weight > 0``. Each part is standardised over its items per request and summed:

    score(i) = z_head(x_u B)_i + knn_weight * z(x_u S)_i

where ``z_head`` is the standard score over the head (items outside it take the row's minimum),
so a tail item ranks by its kNN evidence and a head item by both. On Book-Crossing's
``random-validation`` (4,000 users, ``benchmarks/scale.py --book-crossing --validation``) the
kNN part lowered NDCG@10 (0.0369 without it, 0.0352 at weight 0.5), so it is off by default and
the tail is then ranked after the head.

References:
    H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019, arXiv:1905.03375.
    B. Sarwar et al. Item-Based Collaborative Filtering Recommendation Algorithms. WWW 2001.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, histories_to_csr, sparse_times_dense, standardise_rows


class HeadEASEConfig(FrozenConfig):
    """Hyper-parameters of :class:`HeadEASEScorer` (chosen on Book-Crossing's ``random-validation``)."""

    head_items: PositiveInt = 15_000
    """EASE is solved on this many most interacted items (a dense float32 ``head^2``: 0.84 GiB)."""
    l2: PositiveFloat = 200.0
    """EASE's L2 regularisation lambda."""
    neighbours: PositiveInt = 100
    """Neighbours kept per item by the kNN part (its memory: ``n_items * neighbours``)."""
    knn_weight: NonNegativeFloat = 0.0
    """Weight of the kNN part's standard score (0: no kNN part is built)."""


class HeadEASEScorer(Scorer[HeadEASEConfig]):
    """EASE on the head, item-kNN on the whole catalogue; see the module docstring.

    Attributes:
        head: ``(n_head,) int64`` item positions of the head, most interacted first.
        weights: ``(n_head, n_head) float32`` EASE's ``B`` on the head.
        similarity: ``(n_items, n_items) float32`` sparse CSR top-``neighbours`` cosine, or ``None``
            (``knn_weight == 0``).
    """

    name = "ease-head"

    def fit(self, data: TrainData) -> Self:
        """Solve EASE on the head and build the kNN similarity.

        Raises:
            FloatingPointError: EASE's solution is not finite.
        """
        from implicit.nearest_neighbours import CosineRecommender

        x = data.matrix.tocsr()
        counts = np.asarray(x.sum(axis=0)).ravel()
        order = np.lexsort((np.arange(data.n_items), -counts))  # most interacted first, ties by position
        head = order[: min(self.config.head_items, int((counts > 0).sum()))].astype(np.int64)
        sub = x[:, head]
        gram = (sub.T @ sub).toarray().astype(np.float32)
        gram[np.diag_indices_from(gram)] += np.float32(self.config.l2)
        inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        del gram
        weights = inverse / (-np.diag(inverse))
        weights[np.diag_indices_from(weights)] = 0.0
        if not np.isfinite(weights).all():
            raise FloatingPointError("EASE produced non-finite weights")
        self.head, self.weights = head, np.ascontiguousarray(weights, dtype=np.float32)  # C order: no copy per product
        self.similarity = None
        if self.config.knn_weight > 0:
            model = CosineRecommender(K=self.config.neighbours)
            model.fit(x, show_progress=False)
            self.similarity = model.similarity.tocsr().astype(np.float32)
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        x = histories_to_csr(histories, self.fitted_n_items())
        head = standardise_rows(sparse_times_dense(x[:, self.head], self.weights))
        out = np.repeat(head.min(axis=1, keepdims=True), self.fitted_n_items(), axis=1)
        out[:, self.head] = head
        if self.similarity is not None:
            out += np.float32(self.config.knn_weight) * standardise_rows((x @ self.similarity).toarray())
        return out

    def get_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {"head": self.head, "weights": self.weights}
        if self.similarity is not None:
            s = self.similarity
            state |= {"data": s.data, "indices": s.indices, "indptr": s.indptr}
        return state

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.head = state["head"].astype(np.int64)
        self.weights = np.ascontiguousarray(state["weights"], dtype=np.float32)
        self.similarity = None
        if "data" in state:
            parts = (state["data"], state["indices"], state["indptr"])
            self.similarity = sp.csr_matrix(parts, shape=(n_items, n_items))
        self.n_items = n_items
