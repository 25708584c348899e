"""Candidate sources: components that score the catalogue for a batch of requests.

Every source returns ``(n_requests, n_items) float32`` scores where a NaN entry means "this source
cannot score this item for this request" (a whole NaN row: it cannot answer the request at all).
:class:`~semrec.pipeline.blend.FallbackChain` asks the next source for what is missing, so routing
is data (which rows a source can score), not an if/elif chain in the pipeline.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from semrec.ltr.onboarding import OnboardingRanker
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.context import standardise
from semrec.pipeline.intent import IntentStage
from semrec.pipeline.request import Request
from semrec.scorers import MostPopularScorer, Scorer, content_profiles
from semrec.scorers.described import DescribedUsersConfig, DescribedUsersModel
from semrec.scorers.prior import DemographicPrior, FactorPrior


class Source(ABC):
    """A scoring component of the pipeline; see the module docstring."""

    name: str

    @abstractmethod
    def score(self, requests: Sequence[Request]) -> np.ndarray:
        """``(len(requests), n_items) float32``; NaN where this source cannot score."""

    def label(self, request: Request) -> str:
        """The ``source`` reported for a request this component answered."""
        return self.name

    def notes(self, request: Request) -> list[str]:
        """Remarks added when this component answered ``request``."""
        return []


def _empty(n_rows: int, n_items: int) -> np.ndarray:
    return np.full((n_rows, n_items), np.nan, dtype=np.float32)


def quantile_map(known: np.ndarray, fresh: np.ndarray, main: np.ndarray) -> np.ndarray:
    """Map ``fresh`` affinities onto the ``main`` score scale: a value's (interpolated) rank among
    the fitted items' ``known`` affinities picks the main score of the same rank.

    Returns:
        ``(len(fresh),) float32``.
    """
    values, counts = np.unique(np.asarray(known, dtype=np.float64), return_counts=True)
    mid_rank = np.cumsum(counts) - (counts + 1) / 2.0  # mean rank of each distinct value (ties share it)
    rank = np.interp(fresh, values, mid_rank) if len(values) > 1 else np.full(len(fresh), mid_rank[0])
    return np.interp(rank, np.arange(len(main)), np.sort(main)).astype(np.float32)


class BehaviourSource(Source):
    """The main scorer on non-empty histories; items added after fit are scored through the
    scorer's text-to-behaviour bridge when it has one (else text similarity to the history) and
    mapped onto the main score scale by rank (:func:`quantile_map`)."""

    def __init__(self, scorer: Scorer, catalogue: Catalogue) -> None:
        self.scorer, self.catalogue = scorer, catalogue
        self.name = scorer.name

    def score(self, requests: Sequence[Request]) -> np.ndarray:
        n_items, n_scored = len(self.catalogue), self.scorer.fitted_n_items()
        out = _empty(len(requests), n_items)
        rows = [r for r, request in enumerate(requests) if len(request.history)]
        if not rows:
            return out
        fitted = [requests[r].history[requests[r].history < n_scored] for r in rows]
        main = self.scorer.score(fitted)  # (len(rows), n_scored)
        out[rows, :n_scored] = main
        if n_items > n_scored:
            for n, row in enumerate(rows):
                out[row, n_scored:] = self._fresh(requests[row].history, fitted[n], main[n])
        return out

    def _fresh(self, history: np.ndarray, fitted: np.ndarray, main: np.ndarray) -> np.ndarray:
        """Scores of the items added after fit for one history, on the main scale."""
        catalogue, n_scored = self.catalogue, self.scorer.fitted_n_items()
        bridge = getattr(self.scorer, "bridge_scores", None)
        affinity = None
        features = catalogue.features_of(n_scored)
        if bridge is not None and features is not None:
            affinity = bridge(fitted, catalogue.embeddings[n_scored:], features)
        if affinity is None:
            profile = content_profiles(catalogue.embeddings, [history], 3.0)[0]
            affinity = (catalogue.embeddings[:n_scored] @ profile, catalogue.embeddings[n_scored:] @ profile)
        return quantile_map(affinity[0], affinity[1], main)


class OnboardingSource(Source):
    """The learned new-user ranker (:class:`~semrec.ltr.onboarding.OnboardingRanker`) on histories
    of 1 .. ``max_history`` items, all known at fit time; it scores its candidates only (others NaN).
    The request time is ``context.time``, else now (the ranker clamps it to the training data)."""

    name = "onboarding-ranker"

    def __init__(self, ranker: OnboardingRanker, catalogue: Catalogue) -> None:
        self.ranker, self.catalogue = ranker, catalogue

    def answers(self, request: Request) -> bool:
        history = request.history
        n_fitted = int((history < self.ranker.signals.n_items).sum())
        return 0 < len(history) == n_fitted <= self.ranker.config.max_history

    def score(self, requests: Sequence[Request]) -> np.ndarray:
        out = _empty(len(requests), len(self.catalogue))
        rows = [r for r, request in enumerate(requests) if self.answers(request)]
        if not rows:
            return out
        now = time.time()
        times = [t if (t := requests[r].request_time) is not None else now for r in rows]
        attributes = [requests[r].attributes or None for r in rows]
        candidates, ranked = self.ranker.rank([requests[r].history for r in rows], times, attributes)
        for row, items, values in zip(rows, candidates, ranked):
            out[row, items] = values
        return out

    def notes(self, request: Request) -> list[str]:
        if request.request_time is None:
            return ["the new-user ranker scored at the current time (pass context time=... for the request time)"]
        return ["the new-user ranker scored at the request time"]


class TextSource(Source):
    """Requests known by their text (a self-description or a need).

    With a :class:`~semrec.scorers.described.DescribedUsersModel`: ``z(described users) +
    value_weight * z(value route) + item_text_weight * z(cos(text, item texts))``: what people who
    describe themselves alike consume, what people whose own most frequent attribute values are the
    ones the text names consume (when it names any: read by ``intent``), moved towards items whose
    own text matches. Without one: the plain cosine.
    """

    name = "text"

    def __init__(
        self,
        catalogue: Catalogue,
        described: DescribedUsersModel | None = None,
        config: DescribedUsersConfig | None = None,
        intent: IntentStage | None = None,
    ) -> None:
        self.catalogue, self.described = catalogue, described
        self.config = config or DescribedUsersConfig()
        self.intent = intent if intent is not None and intent.config.enabled else None

    def named_values(self, text: str) -> list[str]:
        """The attribute values ``text`` names (its aspects' matches; empty without an intent stage)."""
        return [] if self.intent is None else [v for a in self.intent.aspects(text) for v in a.values]

    def score(self, requests: Sequence[Request]) -> np.ndarray:
        out = _empty(len(requests), len(self.catalogue))
        texts = {r: request.text for r, request in enumerate(requests) if request.text is not None}
        if not texts:
            return out
        vectors = self.catalogue.query_vectors(list(texts.values()))  # (len(texts), dim)
        cosine = self.catalogue.cosine(vectors)
        if self.described is None:
            out[list(texts)] = cosine
            return out
        behaviour = self.described.score(vectors)  # (len(texts), n_fitted)
        weight = self.config.value_weight
        named = [self.named_values(text) if weight > 0 else [] for text in texts.values()]
        by_values = self.described.score_values(named, self.config.value_temperature)  # 0 where none named
        n_fitted = behaviour.shape[1]
        for n, row in enumerate(texts):
            total = self.config.item_text_weight * standardise(cosine[n])
            for w, part in ((1.0, behaviour[n]), (weight, by_values[n])):
                if not part.any():
                    continue  # the value route where the text names no value
                # items added after fit have no behaviour yet: their text match's rank among the fitted
                # items picks the behaviour score of the same rank (as the main scorer's fresh items)
                fresh = quantile_map(cosine[n, :n_fitted], cosine[n, n_fitted:], part)
                total = total + w * standardise(np.concatenate([part, fresh]))
            out[row] = total
        return out

    def notes(self, request: Request) -> list[str]:
        return ["answered from the user's profile text"] if request.text_from_profile else []


class AttributeSource(Source):
    """The attribute prior (a factor model over attribute features, or per-attribute popularity)
    for requests that carry attributes it knows."""

    def __init__(self, prior: DemographicPrior | FactorPrior, catalogue: Catalogue) -> None:
        self.prior, self.catalogue = prior, catalogue
        self.name = prior.name

    def score(self, requests: Sequence[Request]) -> np.ndarray:
        n_items = len(self.catalogue)
        out = _empty(len(requests), n_items)
        for row, request in enumerate(requests):
            scores = self.prior.score(request.attributes, n_items) if request.attributes else None
            if scores is not None:
                out[row] = scores
        return out


class PopularSource(Source):
    """Most interacted-with items (training counts; items added after fit count 0). Always scores."""

    name = "most-popular"

    def __init__(self, popularity: MostPopularScorer, catalogue: Catalogue) -> None:
        self.counts, self.catalogue = np.asarray(popularity.counts, dtype=np.float32), catalogue

    def score(self, requests: Sequence[Request]) -> np.ndarray:
        counts = np.pad(self.counts, (0, max(0, len(self.catalogue) - len(self.counts))))
        return np.broadcast_to(np.log1p(counts), (len(requests), len(counts))).astype(np.float32)

    def notes(self, request: Request) -> list[str]:
        if len(request.history) or request.text is not None:
            return []
        return ["no history and no text: most popular items"]
