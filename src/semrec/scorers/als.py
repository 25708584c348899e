"""Implicit-feedback matrix factorisation by alternating least squares (``implicit`` library)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, histories_to_csr


class ALSConfig(FrozenConfig):
    """Implicit ALS hyper-parameters (defaults tuned on ML-100K P1 validation)."""

    factors: PositiveInt = 128
    """Latent dimension."""
    regularization: NonNegativeFloat = 30.0
    """L2 regularisation of the factors."""
    alpha: PositiveFloat = 10.0
    """Confidence scaling: c_ui = 1 + alpha * r_ui."""
    iterations: PositiveInt = 15
    """Alternating passes."""
    seed: int = 42
    """Seed of the factor initialisation."""


class ALSScorer(Scorer[ALSConfig]):
    """Implicit-feedback matrix factorisation by alternating least squares (``implicit`` library).

    Users are always folded in: a history's factors are solved exactly against the item factors
    (``implicit``'s ``recalculate_user``), so serving stores item factors only.

    References:
        Y. Hu, Y. Koren, C. Volinsky. Collaborative Filtering for Implicit Feedback Datasets. ICDM 2008,
        doi:10.1109/ICDM.2008.22.
    """

    name = "als"

    def _model(self):
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        c = self.config
        with threadpool_limits(1, "blas"):  # implicit checks (and warns about) BLAS threads on construction
            return AlternatingLeastSquares(
                factors=c.factors,
                regularization=c.regularization,
                alpha=c.alpha,
                iterations=c.iterations,
                random_state=c.seed,
                calculate_training_loss=False,
            )

    def fit(self, data: TrainData) -> Self:
        """Fit the item factors.

        Raises:
            FloatingPointError: Non-finite item factors.
        """
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
        matrix = histories_to_csr(histories, self.fitted_n_items())
        users = self.model.recalculate_user(np.arange(len(histories)), matrix)  # (n, factors)
        return users.reshape(len(histories), -1) @ self.model.item_factors.T

    def get_state(self) -> dict[str, np.ndarray]:
        return {"item_factors": np.asarray(self.model.item_factors, dtype=np.float32)}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.model = self._model()
        self.model.item_factors = state["item_factors"].astype(np.float32)
        self.model.user_factors = np.zeros((0, self.config.factors), dtype=np.float32)
        self.n_items = n_items
