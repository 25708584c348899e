"""Sequence-aware models: sequential rules and semrec's text + behaviour hybrid.

Interests drift and people consume in order; MovieLens users rate in sessions that follow the
site's lists. Two signals capture this without a neural network:

- **recency-weighted history**: the newest items weigh most (``history_decay ** age``);
- **sequential rules**: how often item ``j`` follows item ``i`` within ``window`` steps in
  training sequences, discounted by the gap (Kamehkhosh, Jannach & Ludewig 2017). A short window
  predicts the next few items; a long one what a user who starts with ``i`` goes on to consume,
  which is what a brand-new user needs.

The hybrid adds the **text-to-behaviour bridge**: items nobody has interacted with get EASE
columns predicted from their text embedding and side features, so cold items are scored by the
same collaborative model as warm ones.

References:
    I. Kamehkhosh, D. Jannach and M. Ludewig. A Comparison of Frequent Pattern Techniques and a
    Deep Learning Method for Session-Based Recommendation. RecTemp@RecSys 2017.
    M. Ludewig and D. Jannach. Evaluation of Session-based Recommendation Algorithms. UMUAI 2018.
    H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019.
    T. Barkan et al. CB2CF: A Neural Multiview Content-to-Collaborative Filtering Model for
    Completely Cold Item Recommendations. RecSys 2019 (the bridge's idea; here a ridge map).
    M. Volkovs, G. Yu and T. Poutanen. DropoutNet: Addressing Cold Start in Recommender Systems. NeurIPS 2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from semrec.errors import NotFittedError
from semrec.scorers.base import History, Scorer, TrainData, histories_to_csr, sparse_times_dense
from semrec.scorers.models import EASEConfig, EASEScorer

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
    return sp.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(len(histories), n_items))  # fmt: skip


def sequential_rules(histories: Sequence[History], n_items: int, window: int, gap_decay: float,
                     normalise: Normalisation, chunk: int = 20_000_000) -> np.ndarray:  # fmt: skip
    """Sequential-rule weights ``R[i, j] = sum over occurrences of j after i of gap_decay ** (gap - 1)``.

    Pairs more than ``window`` steps apart do not count. ``normalise``: ``"row"`` divides each row
    by its sum + 1 (a smoothed "what follows i" distribution), ``"sqrt-row"`` by its square root
    (keeps some popularity), ``"none"`` keeps counts.

    Returns:
        ``(n_items, n_items) float32``, dense.
    """
    rules = np.zeros((n_items, n_items), dtype=np.float32)
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    if lengths.sum() == 0:
        return rules
    sequence = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories])
    owner = np.repeat(np.arange(len(histories)), lengths)
    pending_index, pending_weight, size = [], [], 0

    def flush() -> None:
        nonlocal size
        if pending_index:
            counts = np.bincount(np.concatenate(pending_index), np.concatenate(pending_weight), minlength=n_items**2)
            rules.reshape(-1)[:] += counts.astype(np.float32)
            pending_index.clear(), pending_weight.clear()
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


def standardise_rows(scores: np.ndarray) -> np.ndarray:
    """Each row to mean 0, standard deviation 1 (a constant row becomes 0): the batch form of
    :func:`semrec.context.standardise` for rows without infinities."""
    scores = np.asarray(scores, dtype=np.float32)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 0)


class SequentialRulesConfig(BaseModel):
    """Sequential rules hyper-parameters (defaults: best on the ML-100K P1 validation slice)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int = Field(40, ge=1)
    """Largest gap (in interactions) between a rule's two items."""
    gap_decay: float = Field(0.9, gt=0, le=1)
    """Weight of a pair ``gap`` steps apart: ``gap_decay ** (gap - 1)``."""
    history_decay: float = Field(0.8, gt=0, le=1)
    """Weight of the user's item ``age`` steps back: ``history_decay ** age``."""
    normalise: Normalisation = "row"
    max_items: int = Field(40_000, ge=1)
    """Refuse larger catalogues: the rules are an (n_items, n_items) float32 matrix."""


class SequentialRulesScorer(Scorer):
    """Scores ``s_j = sum_i history_decay ** age_i * R[i, j]`` with :func:`sequential_rules` ``R``.

    References:
        Kamehkhosh, Jannach and Ludewig, RecTemp@RecSys 2017 (sequential rules, "SR").
    """

    name = "sequential-rules"
    Config = SequentialRulesConfig

    def fit(self, data: TrainData) -> Self:
        c = self.config
        if data.n_items > c.max_items:
            raise ValueError(f"sequential-rules needs n_items <= max_items ({c.max_items}); got {data.n_items}")
        self.rules = sequential_rules(data.histories, data.n_items, c.window, c.gap_decay, c.normalise)
        self.n_items = data.n_items
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        return sparse_times_dense(decayed_matrix(histories, self.n_items, self.config.history_decay), self.rules)

    def get_state(self) -> dict[str, np.ndarray]:
        return {"rules": self.rules}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.rules, self.n_items = state["rules"].astype(np.float32), n_items


def ridge_bridge(features: np.ndarray, targets: np.ndarray, l2: float) -> np.ndarray:
    """Ridge map from item features to collaborative vectors: ``W = (F^T F + l2 I)^-1 F^T T``.

    Args:
        features: ``(n_warm, d)`` features of items with interactions (a bias column included).
        targets: ``(n_warm, m)`` their collaborative vectors.

    Returns:
        ``(d, m) float32``; a cold item's vector is ``f @ W``.
    """
    f = features.astype(np.float64)
    gram = f.T @ f
    gram[np.diag_indices_from(gram)] += l2
    return scipy.linalg.solve(gram, f.T @ targets.astype(np.float64), assume_a="pos").astype(np.float32)


class HybridConfig(BaseModel):
    """semrec's hybrid. Defaults were chosen on validation slices carved from ML-100K train only
    (``python benchmarks/tune_hybrid.py``): the P1 validation slice for the warm weights, simulated
    onboarding of train users for the cold ones, held-out warm items for the bridge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    l2: float = Field(200.0, gt=0)
    """EASE regularisation."""
    ease_decay: float = Field(0.95, gt=0, le=1)
    """History weight ``ease_decay ** age`` in the EASE score (1: plain EASE)."""
    short_rules: SequentialRulesConfig = SequentialRulesConfig()
    """Next-items rules (what follows the last few items)."""
    short_weight: float = Field(1.0, ge=0)
    """Weight of the standardised short rules against the standardised EASE score (warm users)."""
    long_rules: SequentialRulesConfig = SequentialRulesConfig(window=200, gap_decay=0.99, history_decay=1.0)
    """Long-horizon rules (what users who start with these items go on to consume): new users."""
    cold_popularity: float = Field(1.0, ge=0)
    """Weight of standardised log popularity next to the long rules (new users)."""
    warm_from: int = Field(5, ge=0)
    """Histories up to this length are scored as new users (long rules + popularity) ..."""
    warm_at: int = Field(15, ge=1)
    """... from this length on as known users (EASE + short rules); linear in between."""
    bridge: bool = True
    """Give items without interactions EASE columns predicted from text + side features."""
    bridge_l2: float = Field(10.0, gt=0)
    """Ridge regularisation of the bridge."""
    max_items: int = Field(20_000, ge=1)
    """Refuse larger catalogues: three dense (n_items, n_items) float32 matrices are held."""


class HybridScorer(Scorer):
    """Text + behaviour hybrid: recency-weighted EASE, sequential rules, and a text-to-behaviour bridge.

    For a history of ``n`` items, with ``z`` the within-row standardisation and
    ``w = clip((n - warm_from) / (warm_at - warm_from), 0, 1)``:

    ``s = w [z(x_u^decay B) + short_weight z(x_u^decay R_short)] + (1 - w) [z(x_u R_long) + cold_popularity z(log(1 + pop))]``

    ``B`` is EASE's weight matrix, except that an item with no training interaction gets the
    column ``[e_j, f_j, 1] W`` (scored from the whole history with equal weights, rescaled to the
    decayed history's mean weight: a cold item has no place in the user's sequence), where ``e_j`` is its text embedding, ``f_j`` its side features
    (:mod:`semrec.features`) and ``W`` a ridge map fitted from warm items' features to their own
    EASE columns (the text-to-behaviour bridge; :meth:`bridge_scores` applies it to items added after
    fit). An empty history gets popularity.

    References:
        Steck 2019 (EASE); Kamehkhosh, Jannach and Ludewig 2017 (sequential rules);
        Barkan et al. 2019 (CB2CF) and Volkovs et al. 2017 (DropoutNet) for the bridge.
    """

    name = "hybrid"
    Config = HybridConfig
    requires_embeddings = True
    handles_new_users = True

    def fit(self, data: TrainData) -> Self:
        c = self.config
        if data.n_items > c.max_items:
            raise ValueError(f"hybrid needs n_items <= max_items ({c.max_items}); got {data.n_items}")
        n = data.n_items
        counts = np.asarray(data.matrix.sum(axis=0)).ravel()
        weights = EASEScorer(EASEConfig(l2=c.l2, max_items=c.max_items)).fit(data).weights
        warm = counts > 0
        self.bridged = np.zeros(n, dtype=bool)
        self.bridge_rows = np.zeros(0, dtype=np.int64)  # warm items whose EASE weights the bridge predicts
        self.bridge_map = np.zeros((0, 0), dtype=np.float32)
        self.bridge_layout = np.zeros(2, dtype=np.int64)  # (embedding dim, side-feature count) of its inputs
        inputs = self._bridge_inputs(data.item_embeddings, data.item_features, n) if c.bridge else None
        if inputs is not None and warm.sum() > 1:  # fitted even when every item is warm: items added later use it
            self.bridge_rows = np.flatnonzero(warm)
            self.bridge_map = ridge_bridge(inputs[self.bridge_rows], weights[np.ix_(self.bridge_rows, self.bridge_rows)].T,
                                           c.bridge_l2)  # fmt: skip
            self.bridge_layout = np.array([0 if data.item_embeddings is None else data.item_embeddings.shape[1],
                                           0 if data.item_features is None else data.item_features.shape[1]])  # fmt: skip
            cold = np.flatnonzero(~warm)
            if len(cold):
                weights[np.ix_(self.bridge_rows, cold)] = (inputs[cold] @ self.bridge_map).T
                self.bridged[cold] = True
        self.weights = weights
        self.short = sequential_rules(data.histories, n, c.short_rules.window, c.short_rules.gap_decay,
                                      c.short_rules.normalise)  # fmt: skip
        self.long = sequential_rules(data.histories, n, c.long_rules.window, c.long_rules.gap_decay,
                                     c.long_rules.normalise)  # fmt: skip
        self.log_popularity = np.log1p(counts).astype(np.float32)
        self.n_items = n
        return self

    @staticmethod
    def _bridge_inputs(embeddings: np.ndarray | None, features: np.ndarray | None, n: int) -> np.ndarray | None:
        """``[embedding, side features, 1]`` rows of the first ``n`` items (``None``: neither is known)."""
        blocks = [b for b in (embeddings, features) if b is not None and b.shape[1]]
        if not blocks:
            return None
        return np.hstack([*[b[:n].astype(np.float32) for b in blocks], np.ones((n, 1), np.float32)])

    def bridge_scores(self, history: History, embeddings: np.ndarray | None,
                      features: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
        """EASE-scale affinities of one history to the fitted items and to items added after fit.

        Args:
            history: Positions of fitted items.
            embeddings, features: ``(m, dim)`` text embeddings and ``(m, n_features)`` side features
                of the new items, built like the ones the bridge was fitted on.

        Returns:
            ``(known (n_items,), new (m,))`` float32 (comparable: both are ``x_u B`` with the whole
            history weighted alike), or ``None`` when no bridge was fitted or the inputs do not match it.
        """
        if not len(self.bridge_rows):
            return None
        dims = (0 if embeddings is None else embeddings.shape[1], 0 if features is None else features.shape[1])
        if tuple(int(d) for d in self.bridge_layout) != dims:
            return None
        m = len(embeddings) if embeddings is not None else len(features)
        inputs = self._bridge_inputs(embeddings, features, m)
        binary = histories_to_csr([history], self.n_items)
        known = sparse_times_dense(binary, self.weights)[0]
        new = (inputs @ self.bridge_map) @ binary[:, self.bridge_rows].toarray()[0]
        return known.astype(np.float32), new.astype(np.float32)

    def warm_share(self, length: int) -> float:
        """``w`` of a history of ``length`` items (0: new-user scoring, 1: known-user scoring)."""
        c = self.config
        if c.warm_at <= c.warm_from:
            return float(length >= c.warm_at)
        return float(np.clip((length - c.warm_from) / (c.warm_at - c.warm_from), 0.0, 1.0))

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        c = self.config
        out = np.zeros((len(histories), self.n_items), dtype=np.float32)
        share = np.array([self.warm_share(len(h)) for h in histories])
        warm_rows = np.flatnonzero(share > 0)
        cold_rows = np.flatnonzero((share < 1) & np.array([len(h) > 0 for h in histories], dtype=bool))
        empty_rows = np.flatnonzero([len(h) == 0 for h in histories])
        if len(warm_rows):
            hist = [histories[r] for r in warm_rows]
            decayed = decayed_matrix(hist, self.n_items, c.ease_decay)
            ease = sparse_times_dense(decayed, self.weights)
            if self.bridged.any():  # a cold item has no place in the sequence: the whole history counts alike
                binary = histories_to_csr(hist, self.n_items)
                mean_weight = np.asarray(decayed.sum(axis=1)).ravel() / np.maximum(binary.getnnz(axis=1), 1)
                ease[:, self.bridged] = sparse_times_dense(binary, self.weights[:, self.bridged]) * mean_weight[:, None]
            rules = sparse_times_dense(decayed_matrix(hist, self.n_items, c.short_rules.history_decay), self.short)
            warm = standardise_rows(ease) + c.short_weight * standardise_rows(rules)
            out[warm_rows] += share[warm_rows, None] * warm
        if len(cold_rows):
            hist = [histories[r] for r in cold_rows]
            rules = sparse_times_dense(decayed_matrix(hist, self.n_items, c.long_rules.history_decay), self.long)
            popularity = standardise_rows(self.log_popularity[None, :])
            cold = standardise_rows(rules) + c.cold_popularity * popularity
            out[cold_rows] += (1.0 - share[cold_rows, None]) * cold
        if len(empty_rows):
            out[empty_rows] = self.log_popularity
        return out

    def contributions(self, history: History, item: int) -> np.ndarray:
        """Each history item's EASE weight towards ``item`` (bridged for cold items), ``(len(history),) float32``."""
        if self.n_items is None:
            raise NotFittedError("hybrid scorer is not fitted")
        return self.weights[np.asarray(history), item]

    def get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "short": self.short, "long": self.long,
                "log_popularity": self.log_popularity, "bridged": self.bridged, "bridge_rows": self.bridge_rows,
                "bridge_map": self.bridge_map, "bridge_layout": self.bridge_layout}  # fmt: skip

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.weights = state["weights"].astype(np.float32)
        self.short, self.long = state["short"].astype(np.float32), state["long"].astype(np.float32)
        self.log_popularity, self.bridged = state["log_popularity"].astype(np.float32), state["bridged"].astype(bool)
        self.bridge_rows = state["bridge_rows"].astype(np.int64)
        self.bridge_map = state["bridge_map"].astype(np.float32)
        self.bridge_layout = state["bridge_layout"].astype(np.int64)
        self.n_items = n_items
