"""A learned ranker for new users (few-shot onboarding): LightGBM LambdaRank over candidates.

A user who has just revealed a handful of interactions is the hardest case for collaborative
models and the one where context carries most: *when* they arrive (what is new and what is being
consumed at that time), who they are (attributes), what the items are (text, quality) and what
users who started the same way went on to consume. The ranker learns how to weigh those signals.

Training data is simulated onboarding of the training users (the P2 protocol applied inside
train): the users are split into ``folds``; for each fold, every signal is fitted on the other
users only, and each of the fold's users reveals its first ``n_onboarding`` interactions (request
time = the time of the last one) with the rest as relevant items. One LambdaRank model is trained
per fold, early-stopped on that fold's queries; at request time the models' within-query
standardised scores are averaged (bagging). No evaluation data is ever seen.

Candidates: the top ``candidates`` items by the standardised sum of the hybrid's new-user score
and a time-aware user neighbourhood, ``sum_v exp(-|t - join_v| / tau) (|H_u ∩ H_v| + 0.5) x_vj``
(users who arrived at about the same time ``t``, weighted by overlap with the onboarding items).

Features of a (user, candidate) pair (:data:`FEATURES`; :data:`DEFAULT_FEATURES` are used unless
configured), all at the request time ``t``:

- the hybrid's new-user score and its parts: long-horizon sequential rules (raw and
  standardised), short rules, recency-weighted EASE (:class:`~semrec.scorers.HybridScorer`);
- log popularity; the item's age in years at ``t`` from a release-year column (freshness);
- the item's smoothed mean rating (when interactions carry values);
- the demographic prior of the user's attributes (:class:`~semrec.demographics.DemographicPrior`);
- text cosine between the item and the mean of the onboarding items' embeddings;
- the candidate's rank in the candidate generator;
- optional (:data:`ARRIVAL_FEATURES`): the neighbourhood score, popularity within
  ``window_days`` of ``t``, days since the item's first interaction.

References:
    C. Burges. From RankNet to LambdaRank to LambdaMART: An Overview. MSR-TR-2010-82.
    G. Ke et al. LightGBM: A Highly Efficient Gradient Boosting Decision Tree. NeurIPS 2017.
    Y. Koren. Collaborative Filtering with Temporal Dynamics. KDD 2009 (time-aware signals).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from semrec.demographics import DemographicPrior
from semrec.ranking import top_k
from semrec.scorers.base import TrainData, histories_to_csr, sparse_times_dense
from semrec.scorers.sequence import HybridConfig, HybridScorer, decayed_matrix, standardise_rows

DAY = 86_400.0
YEAR = 365.25 * DAY
FEATURES = ("hybrid", "long_rules", "long_rules_z", "short_rules_z", "ease_z", "neighbours_z", "neighbours_log",
            "popularity_window", "popularity_window_z", "demographic_z", "text_cosine", "text_cosine_z",
            "log_popularity", "days_since_first", "release_age_years", "mean_rating", "candidate_rank")  # fmt: skip
ARRIVAL_FEATURES = ("neighbours_z", "neighbours_log", "popularity_window", "popularity_window_z", "days_since_first")
"""Arrival-time features. Off by default: they did not help on the folds' validation NDCG
(``benchmarks/tune_onboarding.py``); the time-aware neighbourhood still generates the candidates."""
DEFAULT_FEATURES = tuple(f for f in FEATURES if f not in ARRIVAL_FEATURES)


class OnboardingConfig(BaseModel):
    """The new-user ranker. LightGBM settings were chosen by the folds' validation NDCG on ML-100K
    P2's train users (``python benchmarks/tune_onboarding.py``; differences under about 0.003 are
    noise); 100 candidates rather than 300 for speed (about 3x faster to fit and to score)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    """Fit it with the recommender (about 15 s on ML-100K) and use it for short histories."""
    n_onboarding: int = Field(5, ge=1)
    """Interactions each simulated new user reveals in training."""
    max_history: int = Field(10, ge=1)
    """Histories of 1 .. ``max_history`` items are ranked by it (longer ones by the main scorer)."""
    candidates: int = Field(100, ge=10)
    """Candidates per request from the hybrid's new-user score + the time-aware neighbourhood."""
    folds: int = Field(5, ge=2)
    neighbour_days: float = Field(30.0, gt=0)
    """Time scale ``tau`` of the neighbourhood's arrival-time weight, in days."""
    window_days: float = Field(30.0, gt=0)
    """Half-width of the popularity window around the request time, in days."""
    release_field: str | None = "year"
    """Item column with a release year (freshness feature); ignored when absent or not numeric."""
    min_users: int = Field(50, ge=2)
    """Fewer training users with more than ``n_onboarding`` interactions: the ranker is not fitted."""
    hybrid: HybridConfig = HybridConfig()
    features: tuple[str, ...] = DEFAULT_FEATURES
    """Names from :data:`FEATURES` the model uses (default: all but :data:`ARRIVAL_FEATURES`)."""
    n_estimators: int = Field(2000, ge=10)
    """Upper bound on trees per fold model; early stopping on the fold picks the number."""
    learning_rate: float = Field(0.1, gt=0)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(100, ge=1)
    truncation: int = Field(20, ge=1)
    """LambdaRank truncation level (pairs below this rank are not weighed)."""
    reg_lambda: float = Field(10.0, ge=0)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    seed: int = 42

    @field_validator("features")
    @classmethod
    def _known_features(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(names) - set(FEATURES))
        if unknown or not names:
            raise ValueError(f"unknown feature(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(FEATURES)}")
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
        hybrid = HybridScorer(config.hybrid).fit(TrainData(histories, n, data.item_embeddings, data.item_features))
        matrix = histories_to_csr(histories, n).astype(np.float32).tocsr()
        items = np.concatenate(histories) if histories else np.zeros(0, np.int64)
        stamps = np.concatenate(times) if times else np.zeros(0)
        first = np.full(n, np.inf)
        np.minimum.at(first, items, stamps)
        mean_rating = np.full(n, np.nan)
        if data.values is not None and len(items):
            values = np.concatenate([np.asarray(data.values[r], dtype=np.float64) for r in rows])
            sums, counts = np.bincount(items, values, minlength=n), np.bincount(items, minlength=n)
            mean_rating = (sums + 10.0 * values.mean()) / (counts + 10.0)  # shrunk towards the global mean
        span = (stamps.max() - stamps.min() + 1.0) if len(stamps) else 1.0
        keys = np.sort(items * span + (stamps - (stamps.min() if len(stamps) else 0.0)))
        state = {"x_data": matrix.data, "x_indices": matrix.indices, "x_indptr": matrix.indptr,
                 "x_shape": np.array(matrix.shape), "join": np.array([t.min() if len(t) else np.nan for t in times]),
                 "time_keys": keys, "time_origin_span": np.array([stamps.min() if len(stamps) else 0.0, span]),
                 "first_seen": first, "mean_rating": mean_rating,
                 "release_years": np.full(n, np.nan) if data.release_years is None else np.asarray(data.release_years, float),
                 "embeddings": _unit_rows(data.item_embeddings, n)}  # fmt: skip
        prior = None
        if data.users is not None and len(rows):
            prior = DemographicPrior.fit(data.users, [data.user_ids[r] for r in rows], histories, n)
            prior = prior if prior.fields else None
        return cls(state, hybrid, prior)

    def window_popularity(self, request_times: np.ndarray, half_width: float) -> np.ndarray:
        """``(q, n_items)`` interactions with each item within ``half_width`` seconds of each time."""
        origin, span = self.state["time_origin_span"]
        keys, base = self.state["time_keys"], np.arange(self.n_items) * span
        out = np.zeros((len(request_times), self.n_items), dtype=np.float32)
        for row, t in enumerate(request_times):
            if t + half_width < origin or t - half_width > origin + span:
                continue  # the window misses the data entirely
            lo = np.clip(t - half_width - origin, 0, span - 1)
            hi = np.clip(t + half_width - origin, 0, span - 1)
            out[row] = np.searchsorted(keys, base + hi, side="right") - np.searchsorted(keys, base + lo, side="left")
        return out

    def features(self, histories: Sequence[np.ndarray], request_times: np.ndarray,
                 attributes: Sequence[Mapping[str, object] | None], config: OnboardingConfig,
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:  # fmt: skip
        """Per-feature ``(q, n_items)`` matrices and the ``(q, n_items)`` candidate-generator score."""
        n, q = self.n_items, len(histories)
        s, h = self.state, self.hybrid
        origin, span = s["time_origin_span"]
        # a request after the data's end (a stale artifact, a demo data set) is scored as of
        # ``window_days`` after it: item ages and arrival-time signals stay in the range trained on
        request_times = np.minimum(np.asarray(request_times, dtype=np.float64), origin + span + config.window_days * DAY)
        hybrid = h.score(histories)
        long = sparse_times_dense(decayed_matrix(histories, n, h.config.long_rules.history_decay), h.long)
        short = sparse_times_dense(decayed_matrix(histories, n, h.config.short_rules.history_decay), h.short)
        ease = sparse_times_dense(decayed_matrix(histories, n, h.config.ease_decay), h.weights)
        binary = histories_to_csr(histories, n).astype(np.float32)
        overlap = np.asarray((binary @ self.matrix.T).todense())
        clamped = np.clip(request_times, origin, origin + span)  # the data's time range: no extrapolation
        closeness = np.exp(-np.abs(clamped[:, None] - s["join"][None, :]) / (config.neighbour_days * DAY))
        neighbours = np.asarray(self.matrix.T.dot((np.nan_to_num(closeness) * (overlap + 0.5)).T).T, dtype=np.float32)
        window = np.zeros((q, n), dtype=np.float32)
        if {"popularity_window", "popularity_window_z"} & set(config.features):
            window = self.window_popularity(request_times, config.window_days * DAY)
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
            profile = np.stack([embeddings[hist].mean(axis=0) for hist in histories])
            cosine = profile @ embeddings.T
        else:
            cosine = np.zeros((q, n), dtype=np.float32)
        broadcast = lambda v: np.broadcast_to(np.asarray(v, dtype=np.float32)[None, :], (q, n))  # noqa: E731
        first_days = (request_times[:, None] - s["first_seen"][None, :]) / DAY
        blocks = {
            "hybrid": hybrid, "long_rules": long, "long_rules_z": standardise_rows(long),
            "short_rules_z": standardise_rows(short), "ease_z": standardise_rows(ease),
            "neighbours_z": standardise_rows(neighbours), "neighbours_log": np.log1p(neighbours),
            "popularity_window": window, "popularity_window_z": standardise_rows(window),
            "demographic_z": standardise_rows(prior), "text_cosine": cosine, "text_cosine_z": standardise_rows(cosine),
            "log_popularity": broadcast(h.log_popularity),
            "days_since_first": np.where(np.isfinite(first_days), first_days, np.nan),
            "release_age_years": (request_times[:, None] / YEAR + 1970.0) - s["release_years"][None, :],
            "mean_rating": broadcast(s["mean_rating"]),
        }  # fmt: skip
        return blocks, standardise_rows(hybrid) + standardise_rows(neighbours)

    def candidate_rows(self, histories: Sequence[np.ndarray], request_times: np.ndarray,
                       attributes: Sequence[Mapping[str, object] | None], config: OnboardingConfig,
                       ) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
        """Per history: ``(m,) int64`` candidates (history excluded) and ``(m, len(FEATURES)) float32`` rows."""
        blocks, generator = self.features(histories, request_times, attributes, config)
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
        import lightgbm

        self.config, self.signals, self.model_texts = config, signals, list(model_texts)
        self.boosters = [lightgbm.Booster(model_str=text) for text in self.model_texts]
        self.validation_ndcg: list[float] | None = None
        """After :meth:`fit`: each fold model's NDCG@10 over its candidates on its held-out fold."""

    @classmethod
    def fit(cls, config: OnboardingConfig, data: OnboardingData) -> OnboardingRanker | None:
        """Train on simulated onboarding of ``data``'s users (see the module docstring).

        Returns:
            The ranker, or ``None`` when fewer than ``config.min_users`` users have more than
            ``config.n_onboarding`` interactions (too little data to learn from).
        """
        import lightgbm

        k = config.n_onboarding
        eligible = np.array([r for r, h in enumerate(data.histories) if len(h) > k], dtype=np.int64)
        if len(eligible) < max(config.min_users, config.folds):
            return None
        rng = np.random.default_rng(config.seed)
        folds = np.array_split(rng.permutation(eligible), config.folds)
        everyone = np.arange(len(data.histories))
        queries = []  # per fold: (feature rows, labels)
        for fold in folds:
            signals = OnboardingSignals.fit(data, np.setdiff1d(everyone, fold), config)
            histories = [np.asarray(data.histories[r][:k], dtype=np.int64) for r in fold]
            times = np.array([float(data.times[r][k - 1]) for r in fold])
            candidates, rows = signals.candidate_rows(histories, times, _attributes(data, fold), config)
            labels = [np.isin(c, data.histories[r][k:]).astype(np.int32) for c, r in zip(candidates, fold)]
            queries.append((rows, labels))
        texts, validation = [], []
        for held in range(config.folds):
            train = [(x, y) for f, (rows, labels) in enumerate(queries) if f != held for x, y in zip(rows, labels)]
            valid = list(zip(*queries[held]))
            model = lightgbm.LGBMRanker(
                objective="lambdarank", n_estimators=config.n_estimators, learning_rate=config.learning_rate,
                num_leaves=config.num_leaves, min_child_samples=config.min_child_samples,
                lambdarank_truncation_level=config.truncation, reg_lambda=config.reg_lambda,
                subsample=config.subsample, subsample_freq=1, colsample_bytree=config.colsample_bytree,
                random_state=config.seed + held, n_jobs=2, deterministic=True, verbose=-1)  # fmt: skip
            model.fit(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                      group=[len(y) for _, y in train], eval_X=(np.concatenate([x for x, _ in valid]),),
                      eval_y=(np.concatenate([y for _, y in valid]),), eval_group=[[len(y) for _, y in valid]],
                      eval_at=[10], callbacks=[lightgbm.early_stopping(100, verbose=False)])  # fmt: skip
            texts.append(model.booster_.model_to_string(num_iteration=model.best_iteration_ or None))
            validation.append(float(model.best_score_["valid_0"]["ndcg@10"]))
        ranker = cls(config, OnboardingSignals.fit(data, everyone, config), texts)
        ranker.validation_ndcg = validation
        return ranker

    def rank(self, histories: Sequence[np.ndarray], request_times: Sequence[float],
             attributes: Sequence[Mapping[str, object] | None] | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
        """Candidates and their scores (higher is better) for non-empty histories.

        Args:
            histories: ``(n,) int64`` positions of fitted items, oldest first.
            request_times: Unix seconds of each request; times after the training data's last
                interaction + ``window_days`` count as that time.
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
        candidates, rows = self.signals.candidate_rows(histories, np.asarray(request_times, dtype=np.float64),
                                                       attributes, self.config)  # fmt: skip
        bounds = np.cumsum([0, *(len(x) for x in rows)])
        stacked = np.concatenate(rows) if bounds[-1] else np.zeros((0, len(self.config.features)), np.float32)
        total = np.zeros(len(stacked))
        for booster in self.boosters:  # one call per booster over every request, standardised per request
            predicted = booster.predict(stacked) if len(stacked) else total
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                p = predicted[lo:hi]
                total[lo:hi] += (p - p.mean()) / (p.std() + 1e-9) if hi > lo else 0.0
        scores = [(total[lo:hi] / len(self.boosters)).astype(np.float32) for lo, hi in zip(bounds[:-1], bounds[1:])]
        return candidates, scores

    def get_state(self) -> dict[str, np.ndarray]:
        """Arrays for an artifact's ``arrays.npz`` (the boosters are stored separately as text)."""
        out = {f"onboarding/{k}": v for k, v in self.signals.state.items()}
        out |= {f"onboarding/hybrid/{k}": v for k, v in self.signals.hybrid.get_state().items()}
        if self.signals.prior is not None:
            out |= {f"onboarding/prior/{k}": v for k, v in self.signals.prior.state().items()}
        return out

    @classmethod
    def from_state(cls, config: OnboardingConfig, state: Mapping[str, np.ndarray], model_texts: Sequence[str]) -> OnboardingRanker:
        """Rebuild from :meth:`get_state` arrays and the booster texts."""

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix) and "/" not in k[len(prefix):]}

        signals_state = part("onboarding/")
        n_items = int(signals_state["x_shape"][1])
        hybrid = HybridScorer(config.hybrid)
        hybrid.set_state(part("onboarding/hybrid/"), n_items)
        prior_state = {k[len("onboarding/prior/"):]: v for k, v in state.items() if k.startswith("onboarding/prior/")}
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
