"""The recommendation pipeline: query -> history / text -> scorer -> filter -> top-k.

One request type (:class:`Query`) serves every path:

* a known ``user_id``: the stored history (plus any request-time ``history``) goes to the scorer;
* an unknown user with a request-time ``history``: folded in the same way (no retrain);
* no history but ``text`` (a self-description, a need): the text is encoded and matched
  against the item text embeddings (cold start);
* nothing usable: the most popular items (fallback), with a note saying why.

A fitted :class:`Recommender` holds everything serving needs (vocabularies, item metadata,
text embeddings, scorer state, each known user's history) and saves to / loads from an
artifact folder without the training data.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from semrec.context import ContextConfig, RequestContext, TimeContextModel, standardise
from semrec.demographics import DemographicPrior, FactorPrior, fit_prior, prior_from_state
from semrec.features import FeatureSpec, Projection, item_features, learn_spec
from semrec.handover import Handover, HandoverConfig
from semrec.onboarding import OnboardingConfig, OnboardingData, OnboardingRanker, release_years
from semrec.ranker import LearnedRanker, RankerConfig, RankerInputs
from semrec.data.tables import Dataset, split_list
from semrec.encoders import EmbeddingCache, EncoderConfig, TextEncoder, build_encoder
from semrec.errors import ArtifactError, QueryError
from semrec.explain import Explainer, Explanation
from semrec.ranking import top_k
from semrec.rerank import Reranker, build_reranker
from semrec.scorers import MostPopularScorer, Scorer, TrainData, scorer_class
from semrec.scorers.models import ConditionalScorer
from semrec.text import TextTemplateConfig, render_texts
from semrec.vocab import IdVocabulary

logger = logging.getLogger(__name__)

FORMAT = "semrec-artifact"
FORMAT_VERSION = 2
MAX_TEXT_CHARS = 20_000
"""Query texts are cut to this many characters before encoding (encoders read ~256 tokens)."""


class RecommenderConfig(BaseModel):
    """Everything that defines a fitted recommender; saved as ``config.json`` in the artifact."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scorer: str = "ease"
    """Registered scorer name: ``most-popular``, ``content-profile``, ``ease``, ``als``."""
    scorer_config: dict[str, Any] = Field(default_factory=dict)
    """Hyper-parameters of the scorer, validated by its ``Config`` (empty: its defaults)."""
    encoder: EncoderConfig = EncoderConfig()
    """Text encoder used for item texts and query texts."""
    text: TextTemplateConfig = TextTemplateConfig()
    """Item row -> text template."""
    context: ContextConfig = ContextConfig()
    """How request-time context (time, free-text occasion) moves the ranking."""
    handover: HandoverConfig = HandoverConfig()
    """How a new user's scores move from attributes/popularity to behaviour as interactions arrive."""
    ranker: RankerConfig = RankerConfig()
    """Optional learned ranking stage for users with a history (LightGBM LambdaRank)."""
    onboarding: OnboardingConfig = OnboardingConfig()
    """Optional learned ranker for new users with 1 .. ``max_history`` interactions (LightGBM LambdaRank)."""

    @field_validator("scorer")
    @classmethod
    def _known_scorer(cls, name: str) -> str:
        scorer_class(name)
        return name

    def build_scorer(self) -> Scorer:
        """A fresh, unfitted scorer as configured.

        Raises:
            pydantic.ValidationError: ``scorer_config`` does not fit the scorer's ``Config``.
        """
        cls = scorer_class(self.scorer)
        return cls(cls.Config(**self.scorer_config))

    def digest(self) -> str:
        """sha256 of the canonical JSON form."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class Query(BaseModel):
    """Who or what to recommend for. At least nothing: an empty query gets popular items."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    """A known user's id; unknown ids fall back to ``history`` / ``text`` / popularity."""
    history: list[str] = Field(default_factory=list)
    """Item ids the user interacted with, oldest first, in addition to any stored history."""
    text: str | None = None
    """Free text: a self-description or a need; must not be empty or whitespace only."""
    k: int = Field(10, ge=1, le=100_000)
    """Number of items to return."""
    exclude: list[str] = Field(default_factory=list)
    """Item ids never to return."""
    exclude_seen: bool = True
    """Remove items in the history from the result."""
    diversity: float = Field(0.0, ge=0.0, le=1.0)
    """Re-ranking strength: 0 keeps the relevance order, 1 is most diverse / most calibrated."""
    reranker: Literal["auto", "mmr", "mmr-tags", "calibrated", "topic"] = "auto"
    """``topic`` (Ziegler 2005 over genres), ``mmr`` (text-embedding similarity), ``mmr-tags`` (genre
    Jaccard), ``calibrated`` (Steck 2018); ``auto``: ``topic`` when items have genres, else ``mmr``."""
    explain: bool = False
    """Attach a grounded :class:`~semrec.explain.Explanation` to every item."""
    filters: dict[str, list[str]] = Field(default_factory=dict)
    """Attribute filters: keep items whose ``field`` holds one of the values, e.g. ``{"genres": ["Comedy"]}``."""
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    """User attributes (age, gender, occupation, location ...) for attribute-aware cold start."""
    context: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    """Request context (time, location, weather, device, occasion). Recorded; context-aware ranking
    is not in this version (see ``notes``)."""


@dataclass
class Recommendation:
    """A ranked list.

    Attributes:
        item_ids: ``(n,) str`` external ids, best first (``n <= k``).
        scores: ``(n,) float32`` scores of the answering source; comparable within this list only.
        source: What answered: a scorer name, ``"text"`` or ``"most-popular"``.
        notes: Human-readable remarks (fallbacks taken, ids ignored).
        explanations: One :class:`~semrec.explain.Explanation` per item when the query asked.
    """

    item_ids: np.ndarray
    scores: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)
    explanations: list[Explanation] | None = None


def _versions() -> dict[str, str]:
    out = {}
    for name in ("semrec", "numpy", "scipy", "pandas", "implicit", "torch", "sentence-transformers", "transformers"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def ordered_histories(interactions: pd.DataFrame, users: IdVocabulary, items: IdVocabulary) -> list[np.ndarray]:
    """Each user's item positions sorted by (timestamp, item position), oldest first.

    Returns:
        One ``(n_u,) int64`` array per position of ``users`` (empty for users without rows).
    """
    return ordered_histories_with_times(interactions, users, items)[0]


def ordered_values(interactions: pd.DataFrame, users: IdVocabulary, items: IdVocabulary) -> list[np.ndarray] | None:
    """The ``value`` column (ratings) in :func:`ordered_histories_with_times` order, ``(n_u,) float64``
    per user; ``None`` when there is no numeric ``value`` column (implicit feedback)."""
    if "value" not in interactions.columns:
        return None
    values = pd.to_numeric(interactions["value"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all():
        return None
    order, spans, _ = _user_time_order(interactions, users, items)
    return [values[order][s] for s in spans]


def _user_time_order(interactions: pd.DataFrame, users: IdVocabulary,
                     items: IdVocabulary) -> tuple[np.ndarray, list[slice], np.ndarray]:  # fmt: skip
    """Row order by (user, timestamp, item), each user's slice of it, and every row's item position."""
    user_idx = users.index(interactions["user_id"].tolist())
    item_idx = items.index(interactions["item_id"].tolist())
    order = np.lexsort((item_idx, interactions["timestamp"].to_numpy().astype(np.int64), user_idx))
    bounds = np.searchsorted(user_idx[order], np.arange(len(users) + 1))
    return order, [slice(bounds[u], bounds[u + 1]) for u in range(len(users))], item_idx


def ordered_histories_with_times(
    interactions: pd.DataFrame, users: IdVocabulary, items: IdVocabulary
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """:func:`ordered_histories` plus the matching ``(n_u,) int64`` Unix-second timestamps."""
    order, spans, item_idx = _user_time_order(interactions, users, items)
    item_sorted = item_idx[order]
    stamps_sorted = interactions["timestamp"].to_numpy().astype(np.int64)[order]
    return [item_sorted[s] for s in spans], [stamps_sorted[s] for s in spans]


def item_texts(items: pd.DataFrame, config: TextTemplateConfig) -> list[str]:
    """The text of each item row, as the encoder reads it."""
    return render_texts(items, config, "item_id")


def encode_items(
    texts: Sequence[str], encoder: TextEncoder, cache: EmbeddingCache | None, progress: bool = False
) -> np.ndarray:
    """``(len(texts), dim) float32`` item embeddings, through ``cache`` when given."""
    if cache is None:
        return encoder.encode(texts, kind="document", progress=progress)
    return cache.encode(encoder, texts, kind="document", progress=progress)


class Recommender:
    """A fitted pipeline; build it with :meth:`fit` or :meth:`load`.

    Attributes:
        config: The :class:`RecommenderConfig`.
        items: Item metadata (``item_id``, ``title`` ..., ``text``), row ``i`` is item position ``i``.
        item_vocab, user_vocab: External id <-> position maps.
        histories: One ``(n_u,) int64`` array per known user, oldest first.
        history_times: The matching ``(n_u,) int64`` Unix-second timestamps.
        item_embeddings: ``(n_items, dim) float32`` L2-normalised item text embeddings.
        encoder_identity: What produced ``item_embeddings``; query texts must use the same encoder.
        scorer: The main model; it scores the first ``scorer.n_items`` items. Items added later
            (:meth:`upsert_item`) are scored from text until the next fit. ``popularity``: the fallback.
    """

    def __init__(
        self,
        config: RecommenderConfig,
        items: pd.DataFrame,
        user_vocab: IdVocabulary,
        histories: list[np.ndarray],
        history_times: list[np.ndarray],
        item_embeddings: np.ndarray,
        encoder_identity: dict[str, Any],
        scorer: Scorer,
        popularity: MostPopularScorer,
        encoder: TextEncoder | None = None,
        time_context: TimeContextModel | None = None,
        cold: ConditionalScorer | None = None,
        prior: DemographicPrior | FactorPrior | None = None,
        ranker: LearnedRanker | None = None,
        projection: Projection | None = None,
        feature_spec: FeatureSpec | None = None,
        onboarding: OnboardingRanker | None = None,
    ) -> None:
        self.config = config
        self.onboarding = onboarding
        self.projection = projection
        self.feature_spec = feature_spec
        self.ranker = ranker
        self.time_context = time_context
        self.handover = Handover(config.handover, scorer, cold, prior, popularity)
        self.items = items.reset_index(drop=True)
        self.item_vocab = IdVocabulary(self.items["item_id"], "item")
        self.user_vocab = user_vocab
        self.histories = histories
        self.history_times = history_times
        self.item_embeddings = item_embeddings
        self.encoder_identity = encoder_identity
        self.scorer = scorer
        self.popularity = popularity
        self.removed: set[int] = set()
        self._encoder = encoder
        self._derived: dict[str, Any] = {}
        scorer.bind_embeddings(item_embeddings)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls,
        dataset: Dataset,
        config: RecommenderConfig | None = None,
        encoder: TextEncoder | None = None,
        cache: EmbeddingCache | None = None,
        progress: bool = False,
    ) -> Recommender:
        """Encode item texts, fit the scorer on every interaction, keep each user's history.

        Args:
            dataset: Validated tables.
            config: Defaults to :class:`RecommenderConfig` ``()`` (EASE, MiniLM).
            encoder: Overrides ``config.encoder`` (tests pass a :class:`~semrec.encoders.HashingEncoder`).
            cache: Embedding cache; ``None`` encodes without caching.
            progress: Show progress bars.

        Raises:
            pydantic.ValidationError: Bad scorer hyper-parameters.
            SemrecError: The encoder cannot be loaded.
        """
        config = config or RecommenderConfig()
        scorer = config.build_scorer()
        encoder = encoder or build_encoder(config.encoder)
        items = dataset.items.reset_index(drop=True).copy()
        item_vocab = IdVocabulary(items["item_id"], "item")
        user_ids = dataset.interactions["user_id"].drop_duplicates().tolist()
        user_vocab = IdVocabulary(user_ids, "user")
        histories, times = ordered_histories_with_times(dataset.interactions, user_vocab, item_vocab)
        texts = item_texts(items, config.text)
        items["text"] = texts
        started = time.perf_counter()
        embeddings = encode_items(texts, encoder, cache, progress)
        logger.info("encoded %d item texts in %.1f s", len(texts), time.perf_counter() - started)
        projection = None
        if config.encoder.pca_dim is not None:
            projection = Projection.fit(embeddings, config.encoder.pca_dim)
            embeddings = projection.apply(embeddings)
        feature_spec = learn_spec(dataset.items)
        data = TrainData(histories, len(item_vocab), embeddings, item_features(dataset.items, feature_spec))
        popularity = MostPopularScorer().fit(data)
        started = time.perf_counter()
        scorer.fit(data)
        logger.info("fitted %s in %.1f s", scorer.name, time.perf_counter() - started)
        time_context = TimeContextModel.fit(histories, times, len(item_vocab))
        cold = None
        needs_conditional = config.handover.enabled or config.ranker.enabled  # both read P(j | history)
        if needs_conditional and len(item_vocab) <= ConditionalScorer.Config().max_items:
            cold = ConditionalScorer().fit(data)
        prior = None
        if dataset.users is not None and len(user_vocab):
            tags = items["genres"].tolist() if "genres" in items else None
            prior = fit_prior(dataset.users, user_vocab.ids.tolist(), histories, len(item_vocab), tags)
        ranker = _fit_ranker(dataset, config, item_vocab, embeddings, data.item_features) if config.ranker.enabled else None
        onboarding = None
        if config.onboarding.enabled:
            started = time.perf_counter()
            onboarding = OnboardingRanker.fit(config.onboarding, OnboardingData(
                histories, times, ordered_values(dataset.interactions, user_vocab, item_vocab), user_vocab.ids.tolist(),
                dataset.users, len(item_vocab), embeddings, data.item_features,
                release_years(dataset.items, config.onboarding.release_field)))  # fmt: skip
            logger.info("fitted the onboarding ranker in %.1f s (%s)", time.perf_counter() - started,
                        "skipped: too few users" if onboarding is None else f"{len(onboarding.boosters)} fold models")  # fmt: skip
        return cls(config, items, user_vocab, histories, times, embeddings, dict(encoder.identity), scorer,
                   popularity, encoder, time_context, cold, prior, ranker, projection, feature_spec, onboarding)  # fmt: skip

    # ------------------------------------------------------------------ catalogue changes
    @property
    def n_items(self) -> int:
        """Items in the catalogue, including those added after fitting."""
        return len(self.item_vocab)

    def upsert_item(self, item_id: str, fields: dict[str, Any]) -> int:
        """Add or update an item from its fields; it is recommendable at once (no refit).

        The item text is rendered with ``config.text`` and encoded with :attr:`encoder`. A new item
        has no collaborative signal until the next fit: history-based requests score it by the
        percentile of its text similarity to the user's profile, mapped onto the scorer's scores.

        Returns:
            The item's position.

        Raises:
            KeyError: The text template names a field the item lacks entirely.
        """
        row = {column: None for column in self.items.columns if column != "text"}
        row.update({k: v for k, v in fields.items() if k not in ("item_id", "text")})
        row["item_id"] = str(item_id)
        text = item_texts(pd.DataFrame([row]), self.config.text)[0] or str(item_id)
        vector = self.embed([text], "document")[0]
        row["text"] = text
        position = self.item_vocab.get(item_id)
        if position is None:
            position = len(self.item_vocab)
            self.items = pd.concat([self.items, pd.DataFrame([row])], ignore_index=True)
            self.item_vocab = IdVocabulary(self.items["item_id"], "item")
            self.item_embeddings = np.vstack([self.item_embeddings, vector[None, :]])
            self.popularity.counts = np.append(self.popularity.counts, np.float32(0))
        else:
            for column, value in row.items():
                if column not in self.items.columns:
                    self.items[column] = None
                self.items.at[position, column] = value
            self.item_embeddings = self.item_embeddings.copy()
            self.item_embeddings[position] = vector
        self.removed.discard(position)
        self.scorer.bind_embeddings(self.item_embeddings)
        self._derived.clear()
        return position

    def remove_item(self, item_id: str) -> bool:
        """Never recommend ``item_id`` again (until it is upserted). Returns ``False`` if unknown."""
        position = self.item_vocab.get(item_id)
        if position is None:
            return False
        self.removed.add(position)
        return True

    def forget_user(self, user_id: str) -> bool:
        """Drop a user's stored history from this model (the vocabulary keeps a tombstone id)."""
        position = self.user_vocab.get(user_id)
        if position is None:
            return False
        self.histories[position] = np.zeros(0, dtype=np.int64)
        self.history_times[position] = np.zeros(0, dtype=np.int64)
        return True

    # ------------------------------------------------------------------ serving
    @property
    def encoder(self) -> TextEncoder:
        """The text encoder (loaded on first use) matching :attr:`encoder_identity`.

        Raises:
            ArtifactError: The configured encoder now produces vectors of another identity.
        """
        if self._encoder is None:
            encoder = build_encoder(self.config.encoder)
            if dict(encoder.identity) != self.encoder_identity:
                raise ArtifactError(
                    f"text encoder identity changed since fit: artifact {self.encoder_identity}, now {encoder.identity}; refit"
                )
            self._encoder = encoder
        return self._encoder

    def titles(self, item_ids: Sequence[str]) -> list[str]:
        """Display titles (``title`` column, else the id)."""
        if "titles" not in self._derived:
            column = self.items["title"] if "title" in self.items.columns else self.items["item_id"]
            self._derived["titles"] = np.asarray([str(t) for t in column], dtype=object)
        return self._derived["titles"][self.item_vocab.index(list(item_ids))].tolist()

    def text_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine of each query text with every item text.

        Returns:
            ``(len(texts), n_items) float32`` in [-1, 1].

        Raises:
            QueryError: A text is empty or whitespace only.
        """
        cleaned = []
        for text in texts:
            stripped = " ".join(str(text).split())
            if not stripped:
                raise QueryError("text query is empty (or whitespace only); give some words or omit it")
            cleaned.append(stripped[:MAX_TEXT_CHARS])
        return self.embed(cleaned, "query") @ self.item_embeddings.T

    def embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        """``(len(texts), dim) float32`` vectors in the item-embedding space (PCA-projected when configured)."""
        vectors = np.asarray(self.encoder.encode(list(texts), kind=kind), dtype=np.float32)
        return vectors if self.projection is None else self.projection.apply(vectors)

    def history_scores(self, history: np.ndarray) -> np.ndarray:
        """Scores of every item for one history: the scorer for fitted items, text for newer ones.

        Returns:
            ``(n_items,) float32``.
        """
        n_scored = self.scorer.n_items
        main = self.scorer.score([history[history < n_scored]])[0]
        if self.n_items == n_scored:
            return main
        # items added after fit: an affinity comparable between fitted and new items (the scorer's
        # text-to-behaviour bridge when it has one, else text similarity to the history), then the
        # new item's percentile among fitted items -> the same percentile of the main scores
        affinity = None
        bridge = getattr(self.scorer, "bridge_scores", None)
        if bridge is not None and self.feature_spec is not None:
            if "fresh_features" not in self._derived:
                self._derived["fresh_features"] = item_features(self.items.iloc[n_scored:], self.feature_spec)
            affinity = bridge(history[history < n_scored], self.item_embeddings[n_scored:], self._derived["fresh_features"])
        if affinity is None:
            from semrec.scorers.models import content_profiles

            profile = content_profiles(self.item_embeddings, [history], 3.0)[0]
            affinity = (self.item_embeddings[:n_scored] @ profile, self.item_embeddings[n_scored:] @ profile)
        return np.concatenate([main, _quantile_map(affinity[0], affinity[1], main)])

    def history_of(self, user_id: str) -> np.ndarray | None:
        """Stored history of a known user (oldest first), or ``None`` if unknown."""
        position = self.user_vocab.get(user_id)
        return None if position is None else self.histories[position]

    def _filter_mask(self, filters: dict[str, list[str]]) -> np.ndarray:
        """``(n_items,) bool``: items that pass every attribute filter."""
        keep = np.ones(self.n_items, dtype=bool)
        for name, wanted in filters.items():
            if name not in self.items.columns:
                raise QueryError(f"unknown filter field {name!r}; item fields: {', '.join(map(str, self.items.columns))}")
            wanted_set = {str(w) for w in wanted}
            keep &= np.fromiter((bool(wanted_set & set(split_list(v))) for v in self.items[name]), bool, self.n_items)
        return keep

    def recommend(self, query: Query) -> Recommendation:
        """Answer one query through the fallback chain (history -> text -> popular).

        Raises:
            QueryError: Empty text, a ``history`` item id not in the catalogue, or an unknown filter field.
        """
        notes: list[str] = []
        history = np.zeros(0, dtype=np.int64)
        if query.user_id is not None:
            stored = self.history_of(query.user_id)
            if stored is None:
                given = query.history or query.text is not None or query.attributes
                notes.append(f"user {query.user_id!r} is unknown; " + ("using the request's history/text/attributes instead"
                                                                       if given else "falling back"))  # fmt: skip
            else:
                history = stored
                times = self.history_times[self.user_vocab.get(query.user_id)]
                return self.recommend_for_history(history, query, notes, float(times[-1]) if len(times) else None)
        return self.recommend_for_history(history, query, notes)

    def recommend_for_history(self, history: np.ndarray, query: Query, notes: list[str] | None = None,
                              last_time: float | None = None) -> Recommendation:  # fmt: skip
        """:meth:`recommend` for a history given as item positions (``query.history`` is appended);
        ``last_time`` is the Unix time of the user's latest interaction, when known.

        Raises:
            QueryError: As :meth:`recommend`.
        """
        notes = list(notes or [])
        if query.history:
            unknown = [i for i in query.history if i not in self.item_vocab]
            if unknown:
                raise QueryError(f"history names unknown item id(s): {', '.join(map(repr, unknown[:5]))}")
            history = np.concatenate([history, self.item_vocab.index(query.history)])
        if query.text is not None and not query.text.strip():
            raise QueryError("text query is empty (or whitespace only); give some words or omit it")
        context = RequestContext.parse(query.context) if query.context else None
        if query.text is not None and len(query.text) > 2000:
            notes.append("long text: the encoder reads only its first few hundred words")
        if len(history) and self._use_onboarding(history):
            scores, source = self._onboarding_scores(history, context, query.attributes), "onboarding-ranker"
        elif len(history) and self._use_ranker(history):
            scores, source = self._ranked_scores(history, context, last_time), f"ranker({self.scorer.name})"
        elif len(history) and self.scorer.handles_new_users:  # its own new-user model beats the generic hand-over
            scores, source = self.history_scores(history), self.scorer.name
            if query.text is not None:
                notes.append("text ignored: the user has a history (text + history blending comes later)")
        elif len(history):
            scores, source = self.handover.score(history, self.history_scores(history), query.attributes, self.n_items)
            if query.text is not None:
                notes.append("text ignored: the user has a history (text + history blending comes later)")
        elif query.text is not None:
            scores, source = self.text_scores([query.text])[0], "text"
        elif query.attributes and self.handover.prior is not None:
            scores, source = self.handover.prior_scores(query.attributes, self.n_items)
        else:
            scores, source = self.popularity.score([history])[0], "most-popular"
            notes.append("no history and no text: most popular items")
        boost = self.context_boost(context, notes) if context is not None else None
        if source == "onboarding-ranker" and context is not None and context.timestamp is not None:
            notes = [n for n in notes if not n.startswith("context recorded")]
            notes.append("the new-user ranker scored at the request time")
        if boost is not None:
            scores = standardise(scores) + boost
        blocked = np.zeros(self.n_items, dtype=bool)
        if query.exclude_seen and len(history):
            blocked[history] = True
        blocked[[p for p in (self.item_vocab.get(i) for i in query.exclude) if p is not None]] = True
        blocked[list(self.removed)] = True
        if query.filters:
            blocked |= ~self._filter_mask(query.filters)
        scores = np.where(blocked, np.float32(-np.inf), scores)
        pool = query.k if query.diversity == 0 else max(5 * query.k, 50)
        indices, values = top_k(scores[None, :], pool)
        keep = indices[0] >= 0
        chosen, chosen_scores = indices[0][keep][: query.k], values[0][keep][: query.k]
        if query.diversity > 0:
            chosen = self.reranker(query.reranker).rerank(indices[0][keep], values[0][keep], history, query.k,
                                                          query.diversity)  # fmt: skip
            chosen_scores = scores[chosen]
        if len(chosen) < query.k:
            notes.append(f"only {len(chosen)} items left after excluding the history, exclusions and filters")
        explanations = None
        if query.explain:
            explanations = []
            for item in chosen:
                moved = boost is not None and boost[item] > 1.0  # > 1 std: the context really lifted it
                why = ([f"fits the context '{context.text}'" if context.text else "fits the time of the request"]
                       if moved else [])  # fmt: skip
                explanations.append(self.explainer.explain(int(item), history, query.text, source, why))
        return Recommendation(self.item_vocab.ids[chosen], chosen_scores, source, notes, explanations)

    def _use_onboarding(self, history: np.ndarray) -> bool:
        if self.onboarding is None:
            return False
        fitted = history[history < self.onboarding.signals.n_items]  # items added after fit are not in its signals
        return 0 < len(fitted) == len(history) <= self.onboarding.config.max_history

    def _onboarding_scores(self, history: np.ndarray, context: RequestContext | None,
                           attributes: dict[str, Any]) -> np.ndarray:  # fmt: skip
        """Onboarding-ranker scores for its candidates, above every other item (ordered by the main scorer)."""
        request_time = context.timestamp if context is not None and context.timestamp is not None else time.time()
        candidates, ranked = self.onboarding.rank([history], [request_time], [attributes or None])
        scores = standardise(self.history_scores(history)) - 1e3
        scores[candidates[0]] = ranked[0]
        return scores

    def _use_ranker(self, history: np.ndarray) -> bool:
        if self.ranker is None:
            return False
        handover = self.config.handover
        return not handover.enabled or len(np.unique(history)) >= handover.ramp_end

    def _ranked_scores(self, history: np.ndarray, context: RequestContext | None, last_time: float | None) -> np.ndarray:
        """Learned-ranker scores for its candidates, above every other item (ordered by the main scorer)."""
        request_time = time.time()
        if context is not None and context.timestamp is not None:
            request_time = context.timestamp
        inputs = RankerInputs(self.scorer, self.handover.cold, self.popularity, self.item_embeddings, self.time_context)
        candidates, ranked = self.ranker.rank(inputs, history, last_time, request_time, self.n_items)
        scores = standardise(self.history_scores(history)) - 1e3
        scores[candidates] = ranked
        return scores

    def context_boost(self, context: RequestContext, notes: list[str]) -> np.ndarray | None:
        """Standardised context signal to add to standardised scores, ``(n_items,) float32``, or ``None``."""
        weights, parts = self.config.context, []
        if weights.time_weight > 0 and self.time_context is not None:
            lift = self.time_context.lift(context.hour, context.weekday, self.n_items)
            if lift is not None:
                parts.append(weights.time_weight * lift)
                notes.append("ranked with the request time")
        if context.text and weights.text_weight > 0:
            parts.append(weights.text_weight * standardise(self.text_scores([context.text])[0]))
            notes.append(f"ranked with the context {context.text!r}")
        if not parts:
            notes.append("context recorded; no context signal applies to it")
            return None
        return np.sum(parts, axis=0).astype(np.float32)

    def reranker(self, name: str) -> Reranker:
        """The re-ranker ``name`` over this catalogue (built once); tags come from ``genres`` if present."""
        if name == "auto":
            has_tags = "genres" in self.items and self.items["genres"].notna().any()
            name = "topic" if has_tags else "mmr"
        key = f"reranker:{name}"
        if key not in self._derived:
            tags = self.items["genres"].tolist() if "genres" in self.items else [None] * self.n_items
            self._derived[key] = build_reranker(name, self.item_embeddings, tags)
        return self._derived[key]

    @property
    def explainer(self) -> Explainer:
        """The :class:`~semrec.explain.Explainer` over this catalogue (built on first use)."""
        if "explainer" not in self._derived:
            self._derived["explainer"] = Explainer(self.items, self.item_embeddings, self.popularity.counts,
                                                   getattr(self.scorer, "contributions", None))  # fmt: skip
        return self._derived["explainer"]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write the artifact folder atomically (a temporary sibling renamed into place).

        Files: ``manifest.json`` (format, versions, config hash, encoder identity, file hashes),
        ``config.json``, ``arrays.npz`` (no pickles), ``items.parquet``.

        Returns:
            The artifact folder.
        """
        directory = Path(directory).resolve()
        if directory.exists() and not _is_artifact(directory):
            raise ArtifactError(f"{directory} exists and is not a semrec artifact; refusing to overwrite it")
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        tmp.chmod(0o777 & ~_umask())
        try:
            lengths = np.fromiter((len(h) for h in self.histories), dtype=np.int64, count=len(self.histories))
            flat = (lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64))  # noqa: E731
            arrays = {
                "user_ids": self.user_vocab.ids,
                "history_indptr": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                "history_indices": flat(self.histories),
                "history_times": flat(self.history_times),
                "item_embeddings": self.item_embeddings.astype(np.float32),
                "removed_items": np.asarray(sorted(self.removed), dtype=np.int64),
                "popularity/counts": self.popularity.counts,
                **{f"scorer/{k}": v for k, v in self.scorer.get_state().items()},
            }
            if self.time_context is not None:
                arrays["context/hour_counts"] = self.time_context.hour_counts
                arrays["context/weekday_counts"] = self.time_context.weekday_counts
            if self.handover.cold is not None:
                arrays["cold/weights"] = self.handover.cold.weights
            if self.handover.prior is not None:
                arrays.update({f"prior/{k}": v for k, v in self.handover.prior.state().items()})
            if self.projection is not None:
                arrays["pca/mean"], arrays["pca/components"] = self.projection.mean, self.projection.components
            if self.feature_spec is not None:
                arrays["feature_spec"] = np.array(self.feature_spec.to_json())
            booster_files = []
            if self.onboarding is not None:
                arrays.update(self.onboarding.get_state())
                for fold, text in enumerate(self.onboarding.model_texts):
                    booster_files.append(f"onboarding-{fold}.txt")
                    (tmp / booster_files[-1]).write_text(text)
            np.savez(tmp / "arrays.npz", **arrays)
            if self.ranker is not None:
                (tmp / "ranker.txt").write_text(self.ranker.model_text)
            self.items.to_parquet(tmp / "items.parquet", index=False)
            (tmp / "config.json").write_text(self.config.model_dump_json(indent=2))
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "python": platform.python_version(),
                "versions": _versions(),
                "scorer": self.scorer.name,
                "scored_items": int(self.scorer.n_items),
                "config_sha256": self.config.digest(),
                "encoder": self.encoder_identity,
                "n_items": self.n_items,
                "n_users": len(self.user_vocab),
                "files": {name: _sha256(tmp / name)
                          for name in ("arrays.npz", "items.parquet", "config.json", "ranker.txt", *booster_files)
                          if (tmp / name).exists()},
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
            if directory.exists():
                old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
                directory.replace(old)
                tmp.replace(directory)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.replace(directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory: str | Path, encoder: TextEncoder | None = None) -> Recommender:
        """Load an artifact written by :meth:`save`; needs no training data.

        Args:
            directory: The artifact folder.
            encoder: Use this encoder for query texts (must have the artifact's identity).

        Raises:
            ArtifactError: Missing folder or file, a file whose sha256 differs from the manifest,
                an unsupported format version, or an encoder of another identity.
        """
        directory = Path(directory)
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise ArtifactError(f"{directory}: not a semrec artifact (no manifest.json); run `semrec fit` first")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{manifest_path}: invalid JSON ({exc})") from exc
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(f"{directory}: unsupported artifact format {manifest.get('format')} "
                                f"v{manifest.get('format_version')} (this semrec reads v{FORMAT_VERSION}); run `semrec fit` again")
        for name, digest in manifest["files"].items():
            path = directory / name
            if not path.is_file():
                raise ArtifactError(f"{directory}: {name} is missing")
            if _sha256(path) != digest:
                raise ArtifactError(f"{path}: sha256 differs from the manifest (corrupted or edited)")
        config = RecommenderConfig.model_validate_json((directory / "config.json").read_text())
        with np.load(directory / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        items = pd.read_parquet(directory / "items.parquet")
        indptr = arrays["history_indptr"]
        spans = [slice(indptr[u], indptr[u + 1]) for u in range(len(indptr) - 1)]
        histories = [arrays["history_indices"][s] for s in spans]
        times = [arrays["history_times"][s] for s in spans]
        scorer = config.build_scorer()
        scorer.set_state({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("scorer/")},
                         int(manifest.get("scored_items", len(items))))  # fmt: skip
        popularity = MostPopularScorer()
        popularity.set_state({"counts": arrays["popularity/counts"]}, len(items))
        if encoder is not None and dict(encoder.identity) != manifest["encoder"]:
            raise ArtifactError(f"encoder identity {encoder.identity} differs from the artifact's {manifest['encoder']}")
        time_context = None
        if "context/hour_counts" in arrays:
            time_context = TimeContextModel(arrays["context/hour_counts"], arrays["context/weekday_counts"])
        cold = None
        if "cold/weights" in arrays:
            cold = ConditionalScorer()
            cold.set_state({"weights": arrays["cold/weights"]}, int(manifest.get("scored_items", len(items))))
        prior_state = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("prior/")}
        prior = prior_from_state(prior_state) if prior_state else None
        model = cls(config, items, IdVocabulary(arrays["user_ids"], "user"), histories, times,
                    arrays["item_embeddings"], manifest["encoder"], scorer, popularity, encoder, time_context,
                    cold, prior, None,
                    Projection(arrays["pca/mean"], arrays["pca/components"]) if "pca/mean" in arrays else None,
                    FeatureSpec.from_json(str(arrays["feature_spec"])) if "feature_spec" in arrays else None)  # fmt: skip
        if "ranker.txt" in manifest["files"]:
            model.ranker = LearnedRanker(config.ranker, (directory / "ranker.txt").read_text())
        boosters = sorted((n for n in manifest["files"] if n.startswith("onboarding-")), key=lambda n: int(n[11:-4]))
        if boosters:
            model.onboarding = OnboardingRanker.from_state(config.onboarding, arrays,
                                                           [(directory / n).read_text() for n in boosters])  # fmt: skip
        model.removed = set(arrays["removed_items"].tolist())
        return model


def _quantile_map(known: np.ndarray, fresh: np.ndarray, main: np.ndarray) -> np.ndarray:
    """Map ``fresh`` affinities onto the main score scale: a value's (interpolated) rank among the
    fitted items' ``known`` affinities picks the main score of the same rank.

    Returns:
        ``(len(fresh),) float32``.
    """
    values, counts = np.unique(np.asarray(known, dtype=np.float64), return_counts=True)
    mid_rank = np.cumsum(counts) - (counts + 1) / 2.0  # mean rank of each distinct value (ties share it)
    rank = np.interp(fresh, values, mid_rank) if len(values) > 1 else np.full(len(fresh), mid_rank[0])
    return np.interp(rank, np.arange(len(main)), np.sort(main)).astype(np.float32)


def _fit_ranker(dataset: Dataset, config: RecommenderConfig, item_vocab: IdVocabulary,
                embeddings: np.ndarray, features: np.ndarray) -> LearnedRanker:  # fmt: skip
    """Train the ranking stage on a validation slice carved from ``dataset`` (each user's last 10%)."""
    from semrec.evaluation.protocols import temporal_holdout

    split = temporal_holdout(dataset.interactions, 0.1, "ranker-validation")
    users = IdVocabulary(split.train["user_id"].drop_duplicates().tolist(), "user")
    histories, times = ordered_histories_with_times(split.train, users, item_vocab)
    data = TrainData(histories, len(item_vocab), embeddings, features)
    main = config.build_scorer()
    main.bind_embeddings(embeddings)
    inputs = RankerInputs(main.fit(data), ConditionalScorer().fit(data), MostPopularScorer().fit(data), embeddings,
                          TimeContextModel.fit(histories, times, len(item_vocab)))  # fmt: skip
    test = split.test[split.test["user_id"].isin(set(users.ids.tolist()))]
    grouped = test.groupby("user_id")
    ids = list(grouped.groups)
    positions = users.index(ids)
    relevant = [item_vocab.index(grouped.get_group(u)["item_id"].tolist()) for u in ids]
    request = grouped["timestamp"].min().loc[ids].to_numpy(dtype=float)
    last = [float(times[p][-1]) if len(times[p]) else None for p in positions]
    return LearnedRanker.fit(config.ranker, inputs, [histories[p] for p in positions], last, list(request), relevant,
                             len(item_vocab))  # fmt: skip


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_artifact(directory: Path) -> bool:
    """A folder written by :meth:`Recommender.save` (safe to replace)."""
    try:
        return directory.is_dir() and json.loads((directory / "manifest.json").read_text()).get("format") == FORMAT
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


def _sha256(path: Path) -> str:
    from semrec.data.fetch import sha256_file

    return sha256_file(path)
