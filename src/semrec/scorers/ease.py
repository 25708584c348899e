"""EASE: a closed-form item-item model (Steck 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.linalg
from pydantic import Field, PositiveFloat, PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, cooccurrence, histories_to_csr, sparse_times_dense


class EASEConfig(FrozenConfig):
    """EASE hyper-parameters."""

    l2: PositiveFloat = 200.0
    """L2 regularisation lambda (200 is best on ML-100K P1 validation)."""
    max_items: PositiveInt = 40_000
    """Refuse catalogues larger than this: EASE holds an (n_items, n_items) float32 matrix."""
    last_n: int | None = Field(None, ge=1)
    """Score from each history's last ``last_n`` items only (PROTOCOL.md's recency-aware baseline
    uses 20); ``None``: the whole history."""


class EASEScorer(Scorer[EASEConfig]):
    """Embarrassingly Shallow Autoencoder: a closed-form item-item model.

    ``P = (X^T X + lambda I)^-1``, ``B = I - P / diag(P)`` (so ``diag(B) = 0``); scores are ``x_u B``.
    Memory and time grow with ``n_items^2`` and ``n_items^3``.

    Attributes:
        weights: ``(n_items, n_items) float32`` ``B``.

    References:
        H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019, arXiv:1905.03375.
    """

    name = "ease"

    def fit(self, data: TrainData) -> Self:
        """Solve for ``B``.

        Raises:
            ValueError: More than ``max_items`` items.
            FloatingPointError: The solution is not finite.
        """
        gram = cooccurrence(data, self.config.max_items, "EASE")  # (n_items, n_items)
        gram[np.diag_indices_from(gram)] += self.config.l2
        inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        weights = inverse / (-np.diag(inverse))
        weights[np.diag_indices_from(weights)] = 0.0
        if not np.isfinite(weights).all():
            raise FloatingPointError("EASE produced non-finite weights")
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)  # C order: scipy's product would copy F order
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        if self.config.last_n is not None:
            histories = [h[-self.config.last_n :] for h in histories]
        return sparse_times_dense(histories_to_csr(histories, self.fitted_n_items()), self.weights)

    def contributions(self, history: History, item: int) -> np.ndarray:
        """Exact share of each history item in ``item``'s score: ``B[history, item]``, ``(len(history),) float32``.

        Valid for a history without repeats (the score is their sum)."""
        return self.weights[np.asarray(history), item]

    def get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.weights, self.n_items = np.ascontiguousarray(state["weights"], dtype=np.float32), n_items
