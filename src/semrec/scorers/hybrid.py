"""semrec's text + behaviour hybrid: recency-weighted EASE, sequential rules and a text-to-behaviour bridge.

Known users are scored by EASE over a recency-weighted history plus next-items sequential rules
(:mod:`semrec.scorers.rules`) plus a self-attentive sequence model whose item embeddings start from
the item texts (:mod:`semrec.scorers.sasrec`), weighted by what ``fit`` measured on its own validation
slice (:mod:`semrec.scorers.tuning`); new users by long-horizon rules plus popularity, with a linear
ramp in between. The **text-to-behaviour bridge** gives items nobody has interacted with EASE
columns predicted from their text embedding and side features, so cold items are scored by the
same collaborative model as warm ones.

References:
    H. Steck. Embarrassingly Shallow Autoencoders for Sparse Data. WWW 2019, arXiv:1905.03375.
    I. Kamehkhosh, D. Jannach and M. Ludewig. A Comparison of Frequent Pattern Techniques and a
    Deep Learning Method for Session-Based Recommendation. RecTemp@RecSys 2017.
    T. Barkan et al. CB2CF: A Neural Multiview Content-to-Collaborative Filtering Model for
    Completely Cold Item Recommendations. RecSys 2019 (the bridge's idea; here a ridge map).
    M. Volkovs, G. Yu and T. Poutanen. DropoutNet: Addressing Cold Start in Recommender Systems. NeurIPS 2017.
    W.-C. Kang and J. McAuley. Self-Attentive Sequential Recommendation. ICDM 2018.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self, cast

import numpy as np
import scipy.linalg
from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from semrec.errors import NotFittedError
from semrec.frozen import FrozenConfig
from semrec.scorers.base import (
    History,
    Scorer,
    TrainData,
    check_dense_items,
    histories_to_csr,
    sparse_times_dense,
    standardise_rows,
)
from semrec.scorers.ease import EASEConfig, EASEScorer
from semrec.scorers.rules import SequentialRulesConfig, decayed_matrix, sequential_rules
from semrec.scorers.sasrec import SASRecConfig, SASRecScorer


def ridge_bridge(features: np.ndarray, targets: np.ndarray, l2: float) -> np.ndarray:
    """Ridge map from item features to collaborative vectors: ``W = (F^T F + l2 I)^-1 F^T T``.

    Args:
        features: ``(n_warm, d)`` features of items with interactions (a bias column included).
        targets: ``(n_warm, m)`` their collaborative vectors.
        l2: Ridge penalty.

    Returns:
        ``(d, m) float32``; a cold item's vector is ``f @ W``.
    """
    f = features.astype(np.float64)
    gram = f.T @ f
    gram[np.diag_indices_from(gram)] += l2
    return scipy.linalg.solve(gram, f.T @ targets.astype(np.float64), assume_a="pos").astype(np.float32)


class HybridConfig(FrozenConfig):
    """semrec's hybrid. Defaults were chosen on validation slices carved from ML-100K train only
    (``python benchmarks/tune_hybrid.py``): the P1 validation slice for the warm weights, simulated
    onboarding of train users for the cold ones, held-out warm items for the bridge."""

    l2: PositiveFloat = 200.0
    """EASE regularisation."""
    ease_decay: float = Field(0.95, gt=0, le=1)
    """History weight ``ease_decay ** age`` in the EASE score (1: plain EASE)."""
    short_rules: SequentialRulesConfig = SequentialRulesConfig()
    """Next-items rules (what follows the last few items)."""
    short_weight: NonNegativeFloat = 1.0
    """Weight of the standardised short rules against the standardised EASE score (warm users)."""
    long_rules: SequentialRulesConfig = SequentialRulesConfig(window=200, gap_decay=0.99, history_decay=1.0)
    """Long-horizon rules (what users who start with these items go on to consume): new users."""
    cold_popularity: NonNegativeFloat = 1.0
    """Weight of standardised log popularity next to the long rules (new users)."""
    warm_from: int = Field(5, ge=0)
    """Histories up to this length are scored as new users (long rules + popularity) ..."""
    warm_at: PositiveInt = 15
    """... from this length on as known users (EASE + short rules); linear in between."""
    bridge: bool = True
    """Give items without interactions EASE columns predicted from text + side features."""
    bridge_l2: PositiveFloat = 10.0
    """Ridge regularisation of the bridge."""
    tune: bool = True
    """Let ``fit`` choose ``l2``, ``ease_decay`` and ``short_weight`` from the grids below by NDCG@10 on
    a validation slice carved from its training data the way the data is used (temporal or random:
    :mod:`semrec.scorers.tuning`); the fields above are then only the fallback for data too small to
    carve. The chosen values are part of the fitted state."""
    tune_l2: tuple[PositiveFloat, ...] = (100.0, 200.0, 400.0, 800.0)
    tune_decay: tuple[float, ...] = (1.0, 0.99, 0.97, 0.95, 0.9, 0.8)
    tune_short: tuple[NonNegativeFloat, ...] = (0.0, 0.5, 1.0, 2.0)
    tune_fraction: float = Field(0.1, gt=0, lt=1)
    """Share of each validation user's items held out."""
    sequence: SASRecConfig | None = SASRecConfig(loss="ce", hidden=64, epochs=30, text_init=True)
    """A self-attentive sequence model (:mod:`semrec.scorers.sasrec`, full-softmax loss, item embeddings
    started from the text embeddings) whose standardised score joins the known-user score with a
    weight chosen on the validation slice; it is fitted on the slice's training histories (only the
    held-out tail of the sampled users is missing) and dropped when its weight is 0. Temporal data
    only (``tune`` on and ``TrainData.holdout == "temporal"``): when order carries no signal it is not fitted."""
    tune_sequence: tuple[NonNegativeFloat, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    """Sequence-model weights tried (ML-1M P4 chose 16; with 4 as the largest, 4: 0.1539 against 0.1585)."""
    sequence_weight: NonNegativeFloat = 0.0
    """Weight of the sequence model's standardised score (set by tuning)."""
    max_items: PositiveInt = 10_000
    """Refuse larger catalogues: three dense (n_items, n_items) float32 matrices are held, and fitting
    (float64 Gram matrix and inverse, rule counts) peaks near 60 bytes x n_items^2: 5.8 GiB at 10,000
    items (``benchmarks/scale.py --synthetic 10000``), so about 23 GiB at 20,000."""


class HybridScorer(Scorer[HybridConfig]):
    """Text + behaviour hybrid: recency-weighted EASE, sequential rules, and a text-to-behaviour bridge.

    For a history of ``n`` items, with ``z`` the within-row standardisation and
    ``w = clip((n - warm_from) / (warm_at - warm_from), 0, 1)``::

        s = w [z(x_u^decay B) + short_weight z(x_u^decay R_short) + sequence_weight z(SASRec(u))]
            + (1 - w) [z(x_u R_long) + cold_popularity z(log(1 + pop))]

    ``l2``, ``ease_decay``, ``short_weight`` and ``sequence_weight`` are chosen by ``fit`` on a
    validation slice carved the way the data is used (:mod:`semrec.scorers.tuning`); the SASRec term
    (:mod:`semrec.scorers.sasrec`, item embeddings started from text) is 0 on items without interactions.

    ``B`` is EASE's weight matrix, except that an item with no training interaction gets the
    column ``[e_j, f_j, 1] W`` (scored from the whole history with equal weights, rescaled to the
    decayed history's mean weight: a cold item has no place in the user's sequence), where ``e_j``
    is its text embedding, ``f_j`` its side features (:mod:`semrec.features`) and ``W`` a ridge map
    fitted from warm items' features to their own EASE columns (the text-to-behaviour bridge;
    :meth:`bridge_scores` applies it to items added after fit). An empty history gets popularity.

    Attributes:
        weights: ``(n_items, n_items) float32`` ``B`` (bridged columns included).
        short, long: ``(n_items, n_items) float32`` short- and long-horizon rules.
        log_popularity: ``(n_items,) float32`` ``log(1 + distinct users)``.
        bridged: ``(n_items,) bool``, items whose column the bridge predicted.

    References:
        Steck 2019 (EASE); Kamehkhosh, Jannach and Ludewig 2017 (sequential rules);
        Barkan et al. 2019 (CB2CF) and Volkovs et al. 2017 (DropoutNet) for the bridge.
    """

    name = "hybrid"
    requires_embeddings = True
    handles_new_users = True

    def fit(self, data: TrainData) -> Self:
        """Fit EASE, both rule sets and the bridge.

        Raises:
            ValueError: More than ``max_items`` items.
        """
        check_dense_items(data.n_items, self.config.max_items, "hybrid")
        self.choice, self.sequence = None, cast(SASRecScorer | None, None)
        if self.config.tune:
            self.choice = self._tune(data)
        c = self.config
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
            rows = self.bridge_rows = np.flatnonzero(warm)
            self.bridge_map = ridge_bridge(inputs[rows], weights[np.ix_(rows, rows)].T, c.bridge_l2)
            self.bridge_layout = np.array(
                [
                    0 if data.item_embeddings is None else data.item_embeddings.shape[1],
                    0 if data.item_features is None else data.item_features.shape[1],
                ]
            )
            cold = np.flatnonzero(~warm)
            if len(cold):
                weights[np.ix_(rows, cold)] = (inputs[cold] @ self.bridge_map).T
                self.bridged[cold] = True
        self.weights = weights
        short, long = c.short_rules, c.long_rules
        self.short = sequential_rules(data.histories, n, short.window, short.gap_decay, short.normalise)
        self.long = sequential_rules(data.histories, n, long.window, long.gap_decay, long.normalise)
        self.log_popularity = np.log1p(counts).astype(np.float32)
        self.n_items = n
        return self

    def _tune(self, data: TrainData):
        """Choose ``l2``, ``ease_decay``, ``short_weight`` on a validation slice (:mod:`semrec.scorers.tuning`)."""
        from semrec.scorers.tuning import choose

        c = self.config
        sequence = None
        if c.sequence is not None and data.holdout == "temporal":
            config = c.sequence

            def sequence(histories):
                return SASRecScorer(config).fit(TrainData(histories, data.n_items, data.item_embeddings))

        choice = choose(
            data.histories, data.n_items, data.holdout, c.tune_l2, c.tune_decay, c.tune_short, c.short_rules,
            c.tune_fraction, max(c.warm_at, 5), sequence=sequence, sequence_grid=c.tune_sequence,
        )  # fmt: skip
        if choice is not None:
            update = {"l2": choice.l2, "ease_decay": choice.ease_decay, "short_weight": choice.short_weight}
            self.config = c.model_copy(update={**update, "sequence_weight": choice.sequence_weight})
            if choice.sequence_weight > 0:
                self.sequence = choice.model
        return choice

    @staticmethod
    def _bridge_inputs(embeddings: np.ndarray | None, features: np.ndarray | None, n: int) -> np.ndarray | None:
        """``[embedding, side features, 1]`` rows of the first ``n`` items (``None``: neither is known)."""
        blocks = [b for b in (embeddings, features) if b is not None and b.shape[1]]
        if not blocks:
            return None
        return np.hstack([*[b[:n].astype(np.float32) for b in blocks], np.ones((n, 1), np.float32)])

    def bridge_scores(
        self, history: History, embeddings: np.ndarray | None, features: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
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
        sized = embeddings if embeddings is not None else features
        inputs = None if sized is None else self._bridge_inputs(embeddings, features, len(sized))
        if inputs is None:  # neither input given: they cannot match a fitted bridge
            return None
        binary = histories_to_csr([history], self.fitted_n_items())
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
        c, n_items = self.config, self.fitted_n_items()
        out = np.zeros((len(histories), n_items), dtype=np.float32)
        share = np.array([self.warm_share(len(h)) for h in histories])
        warm_rows = np.flatnonzero(share > 0)
        cold_rows = np.flatnonzero((share < 1) & np.array([len(h) > 0 for h in histories], dtype=bool))
        empty_rows = np.flatnonzero([len(h) == 0 for h in histories])
        if len(warm_rows):
            hist = [histories[int(r)] for r in warm_rows]
            decayed = decayed_matrix(hist, n_items, c.ease_decay)
            ease = sparse_times_dense(decayed, self.weights)
            if self.bridged.any():  # a cold item has no place in the sequence: the whole history counts alike
                binary = histories_to_csr(hist, n_items)
                mean_weight = np.asarray(decayed.sum(axis=1)).ravel() / np.maximum(binary.getnnz(axis=1), 1)
                seen = np.unique(binary.indices)  # the rows of the weights a history reaches, not all n_items
                bridged = self.weights[seen][:, self.bridged]
                ease[:, self.bridged] = sparse_times_dense(binary[:, seen], bridged) * mean_weight[:, None]
            rules = sparse_times_dense(decayed_matrix(hist, n_items, c.short_rules.history_decay), self.short)
            warm = standardise_rows(ease) + c.short_weight * standardise_rows(rules)
            if self.sequence is not None and c.sequence_weight > 0:
                learned = standardise_rows(self.sequence.score(hist))
                untrained = self.bridged | (self.log_popularity[:n_items] == 0)  # no interaction trained their
                learned[:, untrained] = 0.0  # embeddings (text-started or random): silent on them, bridge or not
                warm += c.sequence_weight * learned
            out[warm_rows] += share[warm_rows, None] * warm
        if len(cold_rows):
            hist = [histories[int(r)] for r in cold_rows]
            rules = sparse_times_dense(decayed_matrix(hist, n_items, c.long_rules.history_decay), self.long)
            popularity = standardise_rows(self.log_popularity[None, :])
            cold = standardise_rows(rules) + c.cold_popularity * popularity
            out[cold_rows] += (1.0 - share[cold_rows, None]) * cold
        if len(empty_rows):
            out[empty_rows] = self.log_popularity
        return out

    def contributions(self, history: History, item: int) -> np.ndarray:
        """Each history item's EASE weight towards ``item`` (bridged for cold items), ``(len(history),) float32``.

        Raises:
            NotFittedError: Before :meth:`fit` or :meth:`set_state`.
        """
        if self.n_items is None:
            raise NotFittedError("hybrid scorer is not fitted")
        return self.weights[np.asarray(history), item]

    def get_state(self) -> dict[str, np.ndarray]:
        c = self.config
        return {
            "weights": self.weights,
            "short": self.short,
            "long": self.long,
            "log_popularity": self.log_popularity,
            "bridged": self.bridged,
            "bridge_rows": self.bridge_rows,
            "bridge_map": self.bridge_map,
            "bridge_layout": self.bridge_layout,
            "tuned": np.array([c.l2, c.ease_decay, c.short_weight, c.sequence_weight]),
            **({} if self.sequence is None else {f"seq.{k}": v for k, v in self.sequence.get_state().items()}),
        }

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.weights = np.ascontiguousarray(state["weights"], dtype=np.float32)  # C order: products do not copy
        self.short = np.ascontiguousarray(state["short"], dtype=np.float32)
        self.long = np.ascontiguousarray(state["long"], dtype=np.float32)
        self.log_popularity, self.bridged = state["log_popularity"].astype(np.float32), state["bridged"].astype(bool)
        self.bridge_rows = state["bridge_rows"].astype(np.int64)
        self.bridge_map = state["bridge_map"].astype(np.float32)
        self.bridge_layout = state["bridge_layout"].astype(np.int64)
        if "tuned" in state:  # the values fit chose (artifacts from before tuning keep the configured ones)
            l2, decay, short, weight = (float(v) for v in state["tuned"])
            update = {"l2": l2, "ease_decay": decay, "short_weight": short, "sequence_weight": weight}
            self.config = self.config.model_copy(update=update)
        sequence = {k[4:]: v for k, v in state.items() if k.startswith("seq.")}
        self.sequence = None
        if sequence and self.config.sequence is not None:
            model = SASRecScorer(self.config.sequence)
            model.set_state(sequence, n_items)
            self.sequence = model
        self.n_items = n_items
