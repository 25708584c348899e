"""A learned ranker for new users (few-shot onboarding): LightGBM LambdaRank over candidates.

A user who has just revealed a handful of interactions is the hardest case for collaborative
models and the one where context carries most: *when* they arrive (what is new at that time),
who they are (attributes), what the items are (text, quality) and what users who started the
same way went on to consume. The ranker learns how to weigh those signals.

Training data is simulated onboarding of the training users (the P2 protocol applied inside
train): the users are split into ``folds``; for each fold, every signal is fitted on the other
users only, and each of the fold's users reveals its first ``s`` interactions for every reveal size
``s`` in ``shorter_reveals`` and ``n_onboarding`` (one query each; request time = the time of the
``s``-th interaction, the rest of the user's interactions relevant), so that a user with one
interaction is as much inside the training distribution as one with five. One LambdaRank model is trained
per fold (:mod:`semrec.ltr.lgbm`), early-stopped on that fold's queries; at request time the
models' within-query standardised scores are averaged (bagging). No evaluation data is ever seen.

Candidates: the top ``candidates`` items by the standardised sum of the hybrid's new-user score
and a time-aware user neighbourhood, ``sum_v exp(-|t - join_v| / tau) (|H_u ∩ H_v| + 0.5) x_vj``
(users who arrived at about the same time ``t``, weighted by overlap with the onboarding items).

Features of a (user, candidate) pair (:data:`FEATURES`), all at the request time ``t``:

- the hybrid's new-user score and its parts: long-horizon sequential rules (raw and
  standardised), short rules, recency-weighted EASE (:class:`~semrec.scorers.HybridScorer`);
- log popularity; the item's age in years at ``t`` from a release-year column (freshness);
- the item's smoothed mean rating (when interactions carry values);
- the demographic prior of the user's attributes (:class:`~semrec.scorers.prior.DemographicPrior`);
- text cosine between the item and the mean of the onboarding items' embeddings;
- the candidate's rank in the candidate generator.

References:
    C. Burges. From RankNet to LambdaRank to LambdaMART: An Overview. MSR-TR-2010-82.
    G. Ke et al. LightGBM: A Highly Efficient Gradient Boosting Decision Tree. NeurIPS 2017.
    Y. Koren. Collaborative Filtering with Temporal Dynamics. KDD 2009 (time-aware signals).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from semrec.ltr.lgbm import LambdaRankConfig, fit_lambdarank, load_boosters, predict_standardised
from semrec.pipeline.topk import top_k
from semrec.scorers.base import TrainData, histories_to_csr, sparse_times_dense, standardise_rows
from semrec.scorers.hybrid import HybridConfig, HybridScorer
from semrec.scorers.prior import AttributedHistories, DemographicPrior
from semrec.scorers.rules import decayed_matrix

DAY = 86_400.0
YEAR = 365.25 * DAY
FEATURES = (
    "hybrid",
    "long_rules",
    "long_rules_z",
    "short_rules_z",
    "ease_z",
    "demographic_z",
    "text_cosine",
    "text_cosine_z",
    "log_popularity",
    "release_age_years",
    "mean_rating",
    "candidate_rank",
)
"""Feature columns, in model order (``candidate_rank`` is always last)."""


class OnboardingConfig(LambdaRankConfig):
    """The new-user ranker. LightGBM settings (:class:`~semrec.ltr.lgbm.LambdaRankConfig`) were
    chosen by the folds' validation NDCG on ML-100K P2's train users (``python
    benchmarks/tune_onboarding.py``; differences under about 0.003 are noise); 100 candidates
    rather than 300 for speed (about 3x faster to fit and to score)."""

    enabled: bool = False
    """Fit it with the recommender (about 27 s on ML-100K, 2 cores) and use it for short histories."""
    n_onboarding: PositiveInt = 5
    """The longest reveal of a simulated new user in training (its users need more interactions)."""
    shorter_reveals: tuple[PositiveInt, ...] = (1, 3)
    """Further reveal sizes per simulated user (sizes at or above ``n_onboarding`` are ignored)."""
    max_history: PositiveInt = 10
    """Histories of 1 .. ``max_history`` items are ranked by it (longer ones by the main scorer)."""
    candidates: int = Field(100, ge=10)
    """Candidates per request from the hybrid's new-user score + the time-aware neighbourhood."""
    folds: int = Field(5, ge=2)
    """Folds of simulated onboarding; one LightGBM model each."""
    neighbour_days: PositiveFloat = 30.0
    """Time scale ``tau`` of the neighbourhood's arrival-time weight, in days."""
    horizon_days: PositiveFloat = 30.0
    """Requests more than this many days after the training data's last interaction are scored as
    of that point (item ages stay in the range trained on)."""
    release_field: str | None = "year"
    """Item column with a release year (freshness feature); ignored when absent or not numeric."""
    min_users: int = Field(50, ge=2)
    """Fewer training users with more than ``n_onboarding`` interactions: the ranker is not fitted."""
    hybrid: HybridConfig = HybridConfig()
    """The hybrid whose new-user score and parts are features."""
    features: tuple[str, ...] = FEATURES
    """Names from :data:`FEATURES` the model uses (default: all); stored in :data:`FEATURES` order."""

    @field_validator("features")
    @classmethod
    def _known_features(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(names) - set(FEATURES))
        if unknown or not names:
            given = ", ".join(unknown) or "(none given)"
            raise ValueError(f"unknown feature(s) {given}; choose from {', '.join(FEATURES)}")
        return tuple(f for f in FEATURES if f in names)  # the canonical column order


@dataclass
class OnboardingData:
    """What the ranker is fitted from; lists are aligned per training user.

    Attributes:
        histories: ``(n_u,) int64`` item positions in time order.
        times: ``(n_u,) int64`` Unix seconds of those interactions.
        values: ``(n_u,) float`` ratings, or ``None`` (implicit feedback).
        user_ids: External user ids (to look up ``users``).
        users: User table (``user_id`` + attributes) or ``None``.
        n_items: Catalogue size.
        item_embeddings: ``(n_items, dim)`` text embeddings or ``None``.
        item_features: ``(n_items, f)`` side features or ``None``.
        release_years: ``(n_items,) float`` (NaN: unknown) or ``None``.
    """

    histories: Sequence[np.ndarray]
    times: Sequence[np.ndarray]
    values: Sequence[np.ndarray] | None
    user_ids: Sequence[str]
    users: pd.DataFrame | None
    n_items: int
    item_embeddings: np.ndarray | None = None
    item_features: np.ndarray | None = None
    release_years: np.ndarray | None = None


def release_years(items: pd.DataFrame, field: str | None) -> np.ndarray | None:
    """``(n_items,) float64`` years from ``items[field]`` (first four-digit number), or ``None``."""
    if field is None or field not in items.columns:
        return None
    years = pd.to_numeric(items[field].astype(str).str.extract(r"(\d{4})")[0], errors="coerce").to_numpy(dtype=float)
    return years if np.isfinite(years).any() else None


class Requests(NamedTuple):
    """Onboarding requests: ``(q,)`` histories (``int64`` item positions), request times (Unix s), attributes."""

    histories: Sequence[np.ndarray]
    times: np.ndarray
    attributes: Sequence[Mapping[str, object] | None]


class OnboardingSignals:
    """The signals of :data:`FEATURES`, fitted on one set of users (state: plain arrays)."""

    def __init__(self, state: Mapping[str, np.ndarray], hybrid: HybridScorer, prior: DemographicPrior | None) -> None:
        self.state, self.hybrid, self.prior = dict(state), hybrid, prior
        s = self.state
        self.matrix = sp.csr_matrix((s["x_data"], s["x_indices"], s["x_indptr"]), shape=tuple(s["x_shape"]))
        self.n_items = int(s["x_shape"][1])

    @classmethod
    def fit(cls, data: OnboardingData, rows: np.ndarray, config: OnboardingConfig) -> OnboardingSignals:
        """Fit every signal on the users ``rows`` (positions into ``data``'s lists)."""
        n = data.n_items
        histories = [np.asarray(data.histories[r], dtype=np.int64) for r in rows]
        times = [np.asarray(data.times[r], dtype=np.float64) for r in rows]
        hybrid = HybridScorer(config.hybrid.model_copy(update={"tune": False}))  # new-user parts: not tuned
        hybrid = hybrid.fit(TrainData(histories, n, data.item_embeddings, data.item_features))
        matrix = histories_to_csr(histories, n).astype(np.float32).tocsr()
        items = np.concatenate(histories) if histories else np.zeros(0, np.int64)
        stamps = np.concatenate(times) if times else np.zeros(0)
        mean_rating = np.full(n, np.nan)
        if data.values is not None and len(items):
            values = np.concatenate([np.asarray(data.values[r], dtype=np.float64) for r in rows])
            sums, counts = np.bincount(items, values, minlength=n), np.bincount(items, minlength=n)
            mean_rating = (sums + 10.0 * values.mean()) / (counts + 10.0)  # shrunk towards the global mean
        span = (stamps.max() - stamps.min() + 1.0) if len(stamps) else 1.0
        years = np.full(n, np.nan) if data.release_years is None else np.asarray(data.release_years, float)
        state = {
            "x_data": matrix.data,
            "x_indices": matrix.indices,
            "x_indptr": matrix.indptr,
            "x_shape": np.array(matrix.shape),
            "join": np.array([t.min() if len(t) else np.nan for t in times]),
            "time_origin_span": np.array([stamps.min() if len(stamps) else 0.0, span]),
            "mean_rating": mean_rating,
            "release_years": years,
            "embeddings": _unit_rows(data.item_embeddings, n),
        }
        prior = None
        if data.users is not None and len(rows):
            prior = DemographicPrior.fit(
                AttributedHistories(data.users, [data.user_ids[r] for r in rows], histories, n)
            )
            prior = prior if prior.fields else None
        return cls(state, hybrid, prior)

    def features(self, requests: Requests, config: OnboardingConfig) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-feature ``(q, n_items)`` matrices and the ``(q, n_items)`` candidate-generator score."""
        histories, request_times, attributes = requests
        n, q = self.n_items, len(histories)
        s, h = self.state, self.hybrid
        origin, span = s["time_origin_span"]
        # a request after the data's end (a stale artifact, a demo data set) is scored as of
        # ``horizon_days`` after it: item ages stay in the range trained on
        request_times = np.minimum(
            np.asarray(request_times, dtype=np.float64), origin + span + config.horizon_days * DAY
        )
        hybrid = h.score(histories)
        long = sparse_times_dense(decayed_matrix(histories, n, h.config.long_rules.history_decay), h.long)
        short = sparse_times_dense(decayed_matrix(histories, n, h.config.short_rules.history_decay), h.short)
        ease = sparse_times_dense(decayed_matrix(histories, n, h.config.ease_decay), h.weights)
        binary = histories_to_csr(histories, n).astype(np.float32)
        overlap = np.asarray((binary @ self.matrix.T).todense())
        clamped = np.clip(request_times, origin, origin + span)  # the data's time range: no extrapolation
        closeness = np.exp(-np.abs(clamped[:, None] - s["join"][None, :]) / (config.neighbour_days * DAY))
        neighbours = np.asarray(self.matrix.T.dot((np.nan_to_num(closeness) * (overlap + 0.5)).T).T, dtype=np.float32)
        prior = np.zeros((q, n), dtype=np.float32)
        if self.prior is not None:
            seen: dict[tuple, np.ndarray | None] = {}  # users often share attribute values
            for row, attrs in enumerate(attributes):
                key = tuple(sorted((str(k), str(v)) for k, v in (attrs or {}).items()))
                if key not in seen:
                    seen[key] = self.prior.score(attrs or {}, n)
                prior[row] = 0.0 if seen[key] is None else seen[key]
        embeddings = s["embeddings"]
        if embeddings.shape[1]:
            # one matrix-vector product per request: bit-identical whether a request comes alone or in a batch
            cosine = np.stack([embeddings @ embeddings[hist].mean(axis=0) for hist in histories])
        else:
            cosine = np.zeros((q, n), dtype=np.float32)

        def broadcast(values: np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.asarray(values, dtype=np.float32)[None, :], (q, n))

        blocks = {
            "hybrid": hybrid,
            "long_rules": long,
            "long_rules_z": standardise_rows(long),
            "short_rules_z": standardise_rows(short),
            "ease_z": standardise_rows(ease),
            "demographic_z": standardise_rows(prior),
            "text_cosine": cosine,
            "text_cosine_z": standardise_rows(cosine),
            "log_popularity": broadcast(h.log_popularity),
            "release_age_years": (request_times[:, None] / YEAR + 1970.0) - s["release_years"][None, :],
            "mean_rating": broadcast(s["mean_rating"]),
        }
        return blocks, standardise_rows(hybrid) + standardise_rows(neighbours)

    def candidate_rows(self, requests: Requests, config: OnboardingConfig) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per history: ``(m,) int64`` candidates (history excluded) and ``(m, len(config.features)) float32`` rows."""
        blocks, generator = self.features(requests, config)
        histories = requests.histories
        top, _ = top_k(generator.astype(np.float32), config.candidates, histories_to_csr(histories, self.n_items))
        candidates, rows = [], []
        for row in range(len(histories)):
            cands = top[row][top[row] >= 0]
            columns = [np.asarray(blocks[name][row], dtype=np.float32)[cands] for name in FEATURES[:-1]]
            columns.append(np.arange(len(cands), dtype=np.float32))  # candidate_rank
            candidates.append(cands)
            rows.append(np.stack([c for name, c in zip(FEATURES, columns) if name in config.features], axis=1))
        return candidates, rows


def _unit_rows(embeddings: np.ndarray | None, n: int) -> np.ndarray:
    if embeddings is None:
        return np.zeros((n, 0), dtype=np.float32)
    e = np.asarray(embeddings[:n], dtype=np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


class OnboardingRanker:
    """Fitted new-user ranker: the signals fitted on all training users plus one booster per fold.

    Args:
        config: Its configuration.
        signals: Signals fitted on every training user.
        model_texts: LightGBM boosters in their native text format (one per fold).
    """

    def __init__(self, config: OnboardingConfig, signals: OnboardingSignals, model_texts: Sequence[str]) -> None:
        self.config, self.signals, self.model_texts = config, signals, list(model_texts)
        self.boosters = load_boosters(self.model_texts)
        self.validation_ndcg: list[float] | None = None
        """After :meth:`fit`: each fold model's NDCG@10 over its candidates on its held-out fold."""

    @classmethod
    def fit(cls, config: OnboardingConfig, data: OnboardingData) -> OnboardingRanker | None:
        """Train on simulated onboarding of ``data``'s users (see the module docstring).

        Returns:
            The ranker, or ``None`` when fewer than ``config.min_users`` users have more than
            ``config.n_onboarding`` interactions (too little data to learn from).
        """
        k = config.n_onboarding
        eligible = np.array([r for r, h in enumerate(data.histories) if len(h) > k], dtype=np.int64)
        if len(eligible) < max(config.min_users, config.folds):
            return None
        rng = np.random.default_rng(config.seed)
        folds = np.array_split(rng.permutation(eligible), config.folds)
        everyone = np.arange(len(data.histories))
        queries = []  # per fold: [(feature rows, labels) per user]
        sizes = sorted({s for s in config.shorter_reveals if s < k} | {k})
        for fold in folds:
            signals = OnboardingSignals.fit(data, np.setdiff1d(everyone, fold), config)
            users = np.repeat(fold, len(sizes))
            reveal = np.tile(sizes, len(fold))
            histories = [np.asarray(data.histories[r][:s], dtype=np.int64) for r, s in zip(users, reveal)]
            times = np.array([float(data.times[r][s - 1]) for r, s in zip(users, reveal)])
            candidates, rows = signals.candidate_rows(Requests(histories, times, _attributes(data, users)), config)
            labels = [np.isin(c, data.histories[r][s:]).astype(np.int32) for c, r, s in zip(candidates, users, reveal)]
            queries.append(list(zip(rows, labels)))
        texts, validation = [], []
        for held in range(config.folds):
            train = [query for f, fold in enumerate(queries) if f != held for query in fold]
            text, ndcg = fit_lambdarank(config, train, queries[held], seed=config.seed + held)
            texts.append(text)
            validation.append(ndcg)
        ranker = cls(config, OnboardingSignals.fit(data, everyone, config), texts)
        ranker.validation_ndcg = validation
        return ranker

    def rank(
        self,
        histories: Sequence[np.ndarray],
        request_times: Sequence[float],
        attributes: Sequence[Mapping[str, object] | None] | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Candidates and their scores (higher is better) for non-empty histories.

        Args:
            histories: ``(n,) int64`` positions of fitted items, oldest first.
            request_times: Unix seconds of each request; times after the training data's last
                interaction + ``horizon_days`` count as that time.
            attributes: Per history, the user's attributes (``None``: unknown).

        Returns:
            ``(candidates, scores)``: per history ``(m,) int64`` and ``(m,) float32`` (the mean over
            fold models of within-request standardised predictions).

        Raises:
            ValueError: An empty history, or lengths that do not match.
        """
        if any(len(h) == 0 for h in histories):
            raise ValueError("the onboarding ranker needs at least one interaction per history")
        if len(request_times) != len(histories) or (attributes is not None and len(attributes) != len(histories)):
            raise ValueError("histories, request_times and attributes must have the same length")
        attributes = attributes if attributes is not None else [None] * len(histories)
        histories = [np.asarray(h, dtype=np.int64) for h in histories]
        times = np.asarray(request_times, dtype=np.float64)
        candidates, rows = self.signals.candidate_rows(Requests(histories, times, attributes), self.config)
        return candidates, predict_standardised(self.boosters, rows, len(self.config.features))

    def get_state(self) -> dict[str, np.ndarray]:
        """Arrays for an artifact's ``arrays.npz`` (the boosters are stored separately as text)."""
        out = {f"onboarding/{k}": v for k, v in self.signals.state.items()}
        out |= {f"onboarding/hybrid/{k}": v for k, v in self.signals.hybrid.get_state().items()}
        if self.signals.prior is not None:
            out |= {f"onboarding/prior/{k}": v for k, v in self.signals.prior.state().items()}
        return out

    @classmethod
    def from_state(
        cls, config: OnboardingConfig, state: Mapping[str, np.ndarray], model_texts: Sequence[str]
    ) -> OnboardingRanker:
        """Rebuild from :meth:`get_state` arrays and the booster texts."""

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {
                k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix) and "/" not in k[len(prefix) :]
            }

        signals_state = part("onboarding/")
        n_items = int(signals_state["x_shape"][1])
        hybrid = HybridScorer(config.hybrid)
        hybrid.set_state(part("onboarding/hybrid/"), n_items)
        prefix = "onboarding/prior/"
        prior_state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        prior = DemographicPrior.from_state(prior_state) if prior_state else None
        return cls(config, OnboardingSignals(signals_state, hybrid, prior), model_texts)


def user_attributes(users: pd.DataFrame | None, user_ids: Sequence[str]) -> list[Mapping[str, object] | None]:
    """Each user's row of ``users`` as a dict (``None``: no table, or the user is not in it)."""
    if users is None:
        return [None] * len(user_ids)
    table = users.set_index("user_id")
    return [table.loc[str(u)].to_dict() if str(u) in table.index else None for u in user_ids]


def _attributes(data: OnboardingData, rows: np.ndarray) -> list[Mapping[str, object] | None]:
    return user_attributes(data.users, [data.user_ids[r] for r in rows])
