"""The scorer contract: a model fits on interactions and scores items for histories. Nothing else.

Candidate filtering (already-seen items, business rules), top-k and re-ranking live in the
pipeline (:mod:`semrec.pipeline`), so a new model writes ``fit`` and ``score`` only. The helpers
here (history matrices, recency weights, row standardisation, co-occurrence) are shared by the models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self, TypeVar, cast, get_args, get_origin

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel

from semrec.errors import NotFittedError

History = np.ndarray
"""``(n,) int64`` item positions of one user's interactions, oldest first (duplicates allowed)."""


def histories_to_csr(histories: Sequence[History], n_items: int) -> sp.csr_matrix:
    """Binary user-item matrix of a batch of histories.

    Returns:
        ``(len(histories), n_items) float32`` CSR; 1.0 where the user interacted (repeats count once).
    """
    lengths = np.fromiter((len(h) for h in histories), dtype=np.int64, count=len(histories))
    rows = np.repeat(np.arange(len(histories)), lengths)
    cols = np.concatenate(histories).astype(np.int64) if len(histories) else np.zeros(0, np.int64)
    matrix = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(histories), n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def sparse_times_dense(x: sp.csr_matrix, dense: np.ndarray) -> np.ndarray:
    """``x @ dense`` as a dense ``(x.shape[0], dense.shape[1]) float32`` array, without copying ``dense``.

    scipy's CSR product accumulates each row on its own, in the row's stored order, so a row's
    result does not depend on the other rows of the batch: serving one user and evaluating a batch
    give bit-identical scores (a dense BLAS product of a batch does not). It costs ``nnz(x) * dim``
    operations, less than a dense product of a sparse batch.
    """
    return np.asarray(x.astype(dense.dtype, copy=False) @ dense, dtype=np.float32)


def recency_weights(length: int, half_life: float | None) -> np.ndarray:
    """Exponential-decay weights of a history of ``length`` items, oldest first.

    The most recent item weighs 1, the one ``half_life`` interactions earlier 0.5.
    ``half_life=None`` gives uniform weights.

    Returns:
        ``(length,) float32`` in (0, 1].
    """
    if half_life is None:
        return np.ones(length, dtype=np.float32)
    age = np.arange(length - 1, -1, -1, dtype=np.float32)  # 0 for the newest
    return np.power(np.float32(0.5), age / np.float32(half_life)).astype(np.float32)


@dataclass
class TrainData:
    """What a scorer may learn from.

    Attributes:
        histories: One :data:`History` per user position.
        n_items: Catalogue size; item positions are ``0 .. n_items-1``.
        item_embeddings: ``(n_items, dim) float32``, L2-normalised text embeddings, or ``None``.
        item_features: ``(n_items, n_features) float32`` side features (:mod:`semrec.features`), or ``None``.
        holdout: How the recommendations will be judged, so a scorer that tunes itself carves its
            validation slice alike: ``"temporal"`` (what comes next) or ``"random"`` (what is missing).
    """

    histories: list[History]
    n_items: int
    item_embeddings: np.ndarray | None = None
    item_features: np.ndarray | None = None
    holdout: str = "temporal"
    _matrix: sp.csr_matrix | None = field(default=None, repr=False)

    @property
    def matrix(self) -> sp.csr_matrix:
        """``(n_users, n_items) float32`` binary CSR of :attr:`histories` (computed once)."""
        if self._matrix is None:
            self._matrix = histories_to_csr(self.histories, self.n_items)
        return self._matrix


def standardise_rows(scores: np.ndarray) -> np.ndarray:
    """Each row to mean 0, standard deviation 1 (a constant row becomes 0).

    The batch form of the pipeline's single-row standardisation, for rows without infinities.

    Args:
        scores: ``(n, m)`` scores.

    Returns:
        ``(n, m) float32``.
    """
    scores = np.asarray(scores, dtype=np.float32)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 0)


def check_dense_items(n_items: int, max_items: int, name: str) -> None:
    """Refuse a catalogue too large for a dense ``(n_items, n_items)`` item-item matrix.

    Args:
        n_items: Catalogue size.
        max_items: Largest catalogue accepted.
        name: The model's name, for the error message.

    Raises:
        ValueError: ``n_items > max_items``.
    """
    if n_items > max_items:
        raise ValueError(f"{name} needs n_items <= max_items ({max_items}); got {n_items}")


def cooccurrence(data: TrainData, max_items: int, name: str) -> np.ndarray:
    """``X^T X`` of the binary user-item matrix as a dense ``(n_items, n_items) float64`` array.

    Args:
        data: Training interactions.
        max_items: Largest catalogue accepted.
        name: The model's name, for the error message.

    Raises:
        ValueError: ``n_items > max_items`` (the dense matrix would not fit).
    """
    check_dense_items(data.n_items, max_items, name)
    x = data.matrix
    return (x.T @ x).toarray().astype(np.float64)


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class Scorer(ABC, Generic[ConfigT]):
    """Base class of every model.

    Subclasses name their config type as the generic argument (``class EASEScorer(Scorer[EASEConfig])``;
    it becomes :attr:`Config`), set ``name`` (the registry key) and implement :meth:`fit`,
    :meth:`score`, :meth:`get_state` and :meth:`set_state`.
    """

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]
    config: ConfigT
    requires_embeddings: ClassVar[bool] = False
    handles_new_users: ClassVar[bool] = False
    """True when the scorer models short histories itself (the pipeline then skips its generic hand-over)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Scorer:
                (cls.Config,) = get_args(base)

    def __init__(self, config: ConfigT | None = None) -> None:
        if config is not None and not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} takes a {self.Config.__name__}, got {type(config).__name__}")
        self.config = config if config is not None else cast(ConfigT, self.Config())
        self.n_items: int | None = None
        self.item_embeddings: np.ndarray | None = None

    @abstractmethod
    def fit(self, data: TrainData) -> Self:
        """Learn from ``data``; returns ``self``."""

    @abstractmethod
    def _score(self, histories: Sequence[History]) -> np.ndarray:
        """Scores of every item for each history; the caller has checked inputs."""

    def score(self, histories: Sequence[History]) -> np.ndarray:
        """Score every item for each history (fold-in: no user state is needed).

        Args:
            histories: One :data:`History` per query; an empty history is allowed.

        Returns:
            ``(len(histories), n_items) float32``; higher is better. Scores are comparable within
            a row only and are not probabilities.

        Raises:
            NotFittedError: Before :meth:`fit` or :meth:`set_state`.
            ValueError: An item position outside ``0 .. n_items-1``.
        """
        n_items = self.fitted_n_items()
        for history in histories:
            if len(history) and (history.min() < 0 or history.max() >= n_items):
                raise ValueError(f"item position out of range 0..{n_items - 1}")
        scores = self._score(histories)
        return np.asarray(scores, dtype=np.float32).reshape(len(histories), n_items)

    def fitted_n_items(self) -> int:
        """Catalogue size the scorer was fitted on (``n_items`` narrowed to ``int``).

        Raises:
            NotFittedError: Before :meth:`fit` or :meth:`set_state`.
        """
        if self.n_items is None:
            raise NotFittedError(f"{self.name} scorer is not fitted")
        return self.n_items

    @abstractmethod
    def get_state(self) -> dict[str, np.ndarray]:
        """Learned arrays (no pickles), enough for :meth:`set_state` to restore the scorer."""

    @abstractmethod
    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        """Restore from :meth:`get_state`'s arrays."""

    def bind_embeddings(self, item_embeddings: np.ndarray | None) -> None:
        """Give the scorer the catalogue's text embeddings (shared with the pipeline, not copied)."""
        self.item_embeddings = item_embeddings

    def _check_embeddings(self) -> np.ndarray:
        if self.item_embeddings is None:
            raise NotFittedError(f"{self.name} scorer needs item text embeddings")
        return self.item_embeddings
