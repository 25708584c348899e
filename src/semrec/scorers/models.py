"""The first scorers: popularity, text content profile, EASE and ALS.

Each one implements :class:`~semrec.scorers.base.Scorer`; all fold a history in at request
time, so a new user with a few interactions is scored like a known one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.linalg
from pydantic import BaseModel, ConfigDict, Field

from semrec.scorers.base import History, Scorer, TrainData, histories_to_csr, recency_weights, sparse_times_dense

logger = logging.getLogger(__name__)


class MostPopularConfig(BaseModel):
    """MostPopular has no hyper-parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class MostPopularScorer(Scorer):
    """Scores each item by the number of distinct users who interacted with it (same for everyone)."""

    name = "most-popular"
    Config = MostPopularConfig

    def fit(self, data: TrainData) -> Self:
        self.n_items = data.n_items
        self.counts = np.asarray(data.matrix.sum(axis=0), dtype=np.float32).ravel()  # (n_items,)
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(histories), self.n_items)).copy()

    def get_state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.counts, self.n_items = state["counts"].astype(np.float32), n_items


def content_profiles(embeddings: np.ndarray, histories: Sequence[History], half_life: float | None) -> np.ndarray:
    """Recency-weighted mean of each history's item embeddings, L2-normalised.

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


def cooccurrence(data: TrainData, max_items: int, name: str) -> np.ndarray:
    """``X^T X`` of the binary user-item matrix as a dense ``(n_items, n_items) float64`` array.

    Raises:
        ValueError: ``n_items > max_items`` (the dense matrix would not fit).
    """
    if data.n_items > max_items:
        raise ValueError(f"{name} needs n_items <= max_items ({max_items}); got {data.n_items}")
    x = data.matrix
    return (x.T @ x).toarray().astype(np.float64)


class ContentProfileConfig(BaseModel):
    """Content profile: a user is the recency-weighted mean of their items' text embeddings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    half_life: float | None = Field(3.0, gt=0)
    """Interactions after which an item's weight halves; ``None`` weighs the whole history equally.
    3 was best on the ML-100K P1 validation slice (NDCG@10 0.0213 vs 0.0099 at 20, 0.0085 uniform)."""


class ContentProfileScorer(Scorer):
    """Cosine between a user's text profile and every item's text embedding.

    ``profile = normalise(sum_j w_j e_j)`` with ``w_j = 0.5 ** (age_j / half_life)``, ``age_j`` the
    number of interactions since item ``j``; ``score_i = e_i . profile`` in [-1, 1].

    References:
        M. Pazzani and D. Billsus. Content-Based Recommendation Systems. The Adaptive Web, 2007.
    """

    name = "content-profile"
    Config = ContentProfileConfig
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


class EASEConfig(BaseModel):
    """EASE hyper-parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    l2: float = Field(200.0, gt=0)
    """L2 regularisation lambda (200 is best on ML-100K P1 validation)."""
    max_items: int = Field(40_000, ge=1)
    """Refuse catalogues larger than this: EASE holds an (n_items, n_items) float32 matrix."""
    last_n: int | None = Field(None, ge=1)
    """Score from each history's last ``last_n`` items only (PROTOCOL.md's recency-aware baseline
    uses 20); ``None``: the whole history."""


class EASEScorer(Scorer):
    """Embarrassingly Shallow Autoencoder: a closed-form item-item model.

    ``P = (X^T X + lambda I)^-1``, ``B = I - P / diag(P)`` (so ``diag(B) = 0``); scores are ``x_u B``.
    Memory and time grow with ``n_items^2`` and ``n_items^3``.

    References:
        H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019, arXiv:1905.03375.
    """

    name = "ease"
    Config = EASEConfig

    def fit(self, data: TrainData) -> Self:
        gram = cooccurrence(data, self.config.max_items, "EASE")  # (n_items, n_items)
        gram[np.diag_indices_from(gram)] += self.config.l2
        inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        weights = inverse / (-np.diag(inverse))
        weights[np.diag_indices_from(weights)] = 0.0
        if not np.isfinite(weights).all():
            raise FloatingPointError("EASE produced non-finite weights")
        self.weights = weights.astype(np.float32)
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        if self.config.last_n is not None:
            histories = [h[-self.config.last_n :] for h in histories]
        return sparse_times_dense(histories_to_csr(histories, self.n_items), self.weights)

    def contributions(self, history: History, item: int) -> np.ndarray:
        """Exact share of each history item in ``item``'s score: ``B[history, item]``, ``(len(history),) float32``.

        Valid for a history without repeats (the score is their sum)."""
        return self.weights[np.asarray(history), item]

    def get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.weights, self.n_items = state["weights"].astype(np.float32), n_items


class ALSConfig(BaseModel):
    """Implicit ALS hyper-parameters (defaults tuned on ML-100K P1 validation)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    factors: int = Field(128, ge=1)
    """Latent dimension."""
    regularization: float = Field(30.0, ge=0)
    """L2 regularisation of the factors."""
    alpha: float = Field(10.0, gt=0)
    """Confidence scaling: c_ui = 1 + alpha * r_ui."""
    iterations: int = Field(15, ge=1)
    """Alternating passes."""
    seed: int = 42
    """Seed of the factor initialisation."""


class ALSScorer(Scorer):
    """Implicit-feedback matrix factorisation by alternating least squares (``implicit`` library).

    Users are always folded in: a history's factors are solved exactly against the item factors
    (``implicit``'s ``recalculate_user``), so serving stores item factors only.

    References:
        Y. Hu, Y. Koren, C. Volinsky. Collaborative Filtering for Implicit Feedback Datasets. ICDM 2008,
        doi:10.1109/ICDM.2008.22.
    """

    name = "als"
    Config = ALSConfig

    def _model(self):
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        c = self.config
        with threadpool_limits(1, "blas"):  # implicit checks (and warns about) BLAS threads on construction
            return AlternatingLeastSquares(factors=c.factors, regularization=c.regularization, alpha=c.alpha,
                                       iterations=c.iterations, random_state=c.seed, calculate_training_loss=False)  # fmt: skip

    def fit(self, data: TrainData) -> Self:
        from threadpoolctl import threadpool_limits

        self.model = self._model()
        # implicit runs its own threads; a multi-threaded BLAS underneath oversubscribes the
        # cores (implicit warns). The limit is scoped to this call and restored afterwards.
        with threadpool_limits(1, "blas"):
            self.model.fit(data.matrix, show_progress=False)
        if not np.isfinite(self.model.item_factors).all():
            raise FloatingPointError("ALS produced non-finite item factors")
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        matrix = histories_to_csr(histories, self.n_items)
        users = self.model.recalculate_user(np.arange(len(histories)), matrix)  # (n, factors)
        return users.reshape(len(histories), -1) @ self.model.item_factors.T

    def get_state(self) -> dict[str, np.ndarray]:
        return {"item_factors": np.asarray(self.model.item_factors, dtype=np.float32)}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.model = self._model()
        self.model.item_factors = state["item_factors"].astype(np.float32)
        self.model.user_factors = np.zeros((0, self.config.factors), dtype=np.float32)
        self.n_items = n_items


class ItemKNNConfig(BaseModel):
    """Item-kNN hyper-parameters (PROTOCOL.md reference: cosine, K = 800)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    neighbours: int = Field(800, ge=1)
    """Neighbours kept per item (``implicit``'s ``K``)."""


class ItemKNNScorer(Scorer):
    """Item-based kNN with cosine similarity (``implicit.nearest_neighbours.CosineRecommender``).

    Scores are ``x_u S`` with ``S`` the library's sparse top-``K`` item-item cosine matrix.

    References:
        B. Sarwar et al. Item-Based Collaborative Filtering Recommendation Algorithms. WWW 2001.
    """

    name = "item-knn"
    Config = ItemKNNConfig

    def fit(self, data: TrainData) -> Self:
        from implicit.nearest_neighbours import CosineRecommender

        model = CosineRecommender(K=self.config.neighbours)
        model.fit(data.matrix.tocsr(), show_progress=False)
        self.similarity = model.similarity.tocsr().astype(np.float32)  # (n_items, n_items) sparse
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        return (histories_to_csr(histories, self.n_items) @ self.similarity).toarray()

    def get_state(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {"data": s.data, "indices": s.indices, "indptr": s.indptr}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        import scipy.sparse as sp

        self.similarity = sp.csr_matrix((state["data"], state["indices"], state["indptr"]), shape=(n_items, n_items))
        self.n_items = n_items


class ConditionalConfig(BaseModel):
    """Item-to-item conditional probability hyper-parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_items: int = Field(40_000, ge=1)
    """Refuse catalogues larger than this: the model holds an (n_items, n_items) float32 matrix."""


class ConditionalScorer(Scorer):
    """Item-based top-N with conditional probabilities: ``score_j = mean_{i in history} P(j | i)``.

    ``P(j | i)`` = users who interacted with both / users who interacted with ``i``. Unlike EASE or
    cosine kNN it keeps the popularity in the neighbourhood, which is what a user with only a few
    interactions needs: on MovieLens-100K P2 it beats EASE fold-in at every onboarding size.

    References:
        M. Deshpande and G. Karypis. Item-Based Top-N Recommendation Algorithms. ACM TOIS 22(1),
        2004, doi:10.1145/963770.963776.
    """

    name = "item-cond"
    Config = ConditionalConfig

    def fit(self, data: TrainData) -> Self:
        both = cooccurrence(data, self.config.max_items, "item-cond").astype(np.float32)  # (n_items, n_items)
        counts = np.diag(both).copy()
        np.fill_diagonal(both, 0.0)
        self.weights = both / np.maximum(counts, 1.0)[:, None]  # row i: P(j | i)
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        out = np.zeros((len(histories), self.n_items), dtype=np.float32)
        for row, history in enumerate(histories):
            if len(history):
                out[row] = self.weights[np.unique(history)].mean(axis=0)
        return out

    def get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.weights, self.n_items = state["weights"].astype(np.float32), n_items
