"""Sequential rules: what follows what in training sequences, discounted by the gap.

Interests drift and people consume in order; MovieLens users rate in sessions that follow the
site's lists. Two signals capture this without a neural network:

- **recency-weighted history**: the newest items weigh most (``history_decay ** age``,
  :func:`decayed_matrix`);
- **sequential rules**: how often item ``j`` follows item ``i`` within ``window`` steps in
  training sequences, discounted by the gap (Kamehkhosh, Jannach & Ludewig 2017). A short window
  predicts the next few items; a long one what a user who starts with ``i`` goes on to consume,
  which is what a brand-new user needs.

References:
    I. Kamehkhosh, D. Jannach and M. Ludewig. A Comparison of Frequent Pattern Techniques and a
    Deep Learning Method for Session-Based Recommendation. RecTemp@RecSys 2017.
    M. Ludewig and D. Jannach. Evaluation of Session-based Recommendation Algorithms. UMUAI 2018,
    arXiv:1803.09587.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import scipy.sparse as sp
from pydantic import Field, PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, check_dense_items, sparse_times_dense

Normalisation = Literal["row", "sqrt-row", "none"]


def decayed_matrix(histories: Sequence[History], n_items: int, decay: float) -> sp.csr_matrix:
    """User-item matrix whose entries weigh each history item by ``decay ** age``.

    ``age`` is 0 for the newest item; a repeated item keeps its newest weight.

    Returns:
        ``(len(histories), n_items) float32`` CSR.
    """
    rows, cols, vals = [], [], []
    for row, history in enumerate(histories):
        if len(history):
            history = np.asarray(history, dtype=np.int64)
            items, last = np.unique(history[::-1], return_index=True)  # first in reversed = newest
            rows.append(np.full(len(items), row))
            cols.append(items)
            vals.append(np.power(decay, last, dtype=np.float64))
    if not rows:
        return sp.csr_matrix((len(histories), n_items), dtype=np.float32)
    values = np.concatenate(vals).astype(np.float32)
    return sp.csr_matrix((values, (np.concatenate(rows), np.concatenate(cols))), shape=(len(histories), n_items))


def sequential_rules(
    histories: Sequence[History],
    n_items: int,
    window: int,
    gap_decay: float,
    normalise: Normalisation,
    chunk: int = 20_000_000,
) -> np.ndarray:
    """Sequential-rule weights ``R[i, j] = sum over occurrences of j after i of gap_decay ** (gap - 1)``.

    Pairs more than ``window`` steps apart do not count. ``normalise``: ``"row"`` divides each row
    by its sum + 1 (a smoothed "what follows i" distribution), ``"sqrt-row"`` by its square root
    (keeps some popularity), ``"none"`` keeps counts.

    Args:
        chunk: Pairs accumulated before they are added to ``R`` (bounds the memory).

    Returns:
        ``(n_items, n_items) float32``, dense.
    """
    rules = np.zeros((n_items, n_items), dtype=np.float32)
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    if lengths.sum() == 0:
        return rules
    sequence = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories])
    owner = np.repeat(np.arange(len(histories)), lengths)
    pending_index: list[np.ndarray] = []
    pending_weight: list[np.ndarray] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if pending_index:
            counts = np.bincount(np.concatenate(pending_index), np.concatenate(pending_weight), minlength=n_items**2)
            rules.reshape(-1)[:] += counts.astype(np.float32)
            pending_index.clear()
            pending_weight.clear()
        size = 0

    for gap in range(1, min(window, int(lengths.max()) - 1) + 1):  # one vectorised pass per gap
        same_user = owner[:-gap] == owner[gap:]
        pairs = sequence[:-gap][same_user] * n_items + sequence[gap:][same_user]
        pending_index.append(pairs)
        pending_weight.append(np.full(len(pairs), gap_decay ** (gap - 1)))
        size += len(pairs)
        if size >= chunk:
            flush()
    flush()
    if normalise != "none":
        totals = rules.sum(axis=1, keepdims=True) + 1.0
        rules /= totals if normalise == "row" else np.sqrt(totals)
    return rules


class SequentialRulesConfig(FrozenConfig):
    """Sequential rules hyper-parameters (defaults: best on the ML-100K P1 validation slice)."""

    window: PositiveInt = 40
    """Largest gap (in interactions) between a rule's two items."""
    gap_decay: float = Field(0.9, gt=0, le=1)
    """Weight of a pair ``gap`` steps apart: ``gap_decay ** (gap - 1)``."""
    history_decay: float = Field(0.8, gt=0, le=1)
    """Weight of the user's item ``age`` steps back: ``history_decay ** age``."""
    normalise: Normalisation = "row"
    """Row normalisation of the rules (see :func:`sequential_rules`)."""
    max_items: PositiveInt = 40_000
    """Refuse larger catalogues: the rules are an (n_items, n_items) float32 matrix."""


class SequentialRulesScorer(Scorer[SequentialRulesConfig]):
    """Scores ``s_j = sum_i history_decay ** age_i * R[i, j]`` with :func:`sequential_rules` ``R``.

    References:
        Kamehkhosh, Jannach and Ludewig, RecTemp@RecSys 2017 (sequential rules, "SR").
    """

    name = "sequential-rules"

    def fit(self, data: TrainData) -> Self:
        """Count the rules.

        Raises:
            ValueError: More than ``max_items`` items.
        """
        c = self.config
        check_dense_items(data.n_items, c.max_items, "sequential-rules")
        self.rules = sequential_rules(data.histories, data.n_items, c.window, c.gap_decay, c.normalise)
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        return sparse_times_dense(
            decayed_matrix(histories, self.fitted_n_items(), self.config.history_decay), self.rules
        )

    def get_state(self) -> dict[str, np.ndarray]:
        return {"rules": self.rules}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.rules, self.n_items = state["rules"].astype(np.float32), n_items
