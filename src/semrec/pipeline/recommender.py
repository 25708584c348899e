"""The recommendation pipeline, assembled from named components.

``history lookup -> fallback chain of sources (onboarding ranker | hand-over / main scorer | text |
attributes | popularity) -> text blend -> context boost -> intent -> candidates -> top-k -> re-rank ->
explain``. The library, the CLI, the HTTP service and the evaluation all call :meth:`Recommender.recommend_many`
(or :meth:`Recommender.recommend`, a batch of one), so what is evaluated is what is served.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semrec.config import RecommenderConfig
from semrec.pipeline.blend import FallbackChain, RowLabels
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.context import ContextBoost
from semrec.pipeline.handover import Handover
from semrec.pipeline.intent import IntentStage
from semrec.pipeline.lists import ListStage
from semrec.pipeline.models import Models
from semrec.pipeline.request import Request, resolve
from semrec.pipeline.sources import (
    AttributeSource,
    BehaviourSource,
    OnboardingSource,
    PopularSource,
    Source,
    TextSource,
)
from semrec.pipeline.textblend import TextBlend
from semrec.pipeline.users import ArtifactUsers, UserLookup
from semrec.scorers import Scorer
from semrec.types import Query, Recommendation


class Recommender:
    """A fitted pipeline; build it with :meth:`fit` or :meth:`load`.

    Attributes:
        config: The :class:`~semrec.config.RecommenderConfig`.
        catalogue: Items, ids, text embeddings (:class:`~semrec.pipeline.catalogue.Catalogue`).
        users: The training histories kept in the artifact (the default history lookup).
        models: The fitted models; ``chain`` the fallback chain built from them.
    """

    def __init__(self, config: RecommenderConfig, catalogue: Catalogue, users: ArtifactUsers, models: Models) -> None:
        self.config, self.catalogue, self.users, self.models = config, catalogue, users, models
        self.fit_notes: list[str] = []  # what fitting changed to fit the catalogue (semrec.capacity)
        self.generative: Any = None  # attached semrec.llm.GenerativeStage (optional LLM stages; off by default)
        main = BehaviourSource(models.scorer, catalogue)
        popular = PopularSource(models.popularity, catalogue)
        attributes = AttributeSource(models.prior, catalogue) if models.prior is not None else None
        history: Source = main
        if config.handover.enabled and models.conditional is not None and not models.scorer.handles_new_users:
            history = Handover(config.handover, main, models.conditional, attributes, popular)
        intent = IntentStage(catalogue, config.intent)
        sources: list[Source] = [OnboardingSource(models.onboarding, catalogue)] if models.onboarding else []
        text = TextSource(catalogue, models.described, config.text_users, intent)
        sources += [history, text, *([attributes] if attributes else []), popular]
        self.chain = FallbackChain(sources)
        self.context = ContextBoost(config.context, catalogue.text_scores)
        self.text_blend = TextBlend(config.text_blend, text)
        self.lists = ListStage(catalogue, models.popularity.counts, intent)

    @classmethod
    def fit(cls, dataset, config: RecommenderConfig | None = None, encoder=None, cache=None, progress: bool = False):
        """Fit every component on ``dataset``; see :func:`semrec.training.fit_recommender`."""
        from semrec.training import fit_recommender

        return fit_recommender(dataset, config or RecommenderConfig(), encoder, cache, progress)

    def save(self, directory: str | Path) -> Path:
        """Write the artifact folder atomically; see :func:`semrec.io.artifact.save`."""
        from semrec.io.artifact import save

        return save(self, directory)

    @classmethod
    def load(cls, directory: str | Path, encoder=None) -> Recommender:
        """Load an artifact folder (no training data needed); see :func:`semrec.io.artifact.load`."""
        from semrec.io.artifact import load

        return load(directory, encoder)

    @property
    def scorer(self) -> Scorer:
        """The main scorer."""
        return self.models.scorer

    @property
    def n_items(self) -> int:
        """Items in the catalogue, including those added after fitting."""
        return len(self.catalogue)

    def upsert_item(self, item_id: str, fields: dict[str, Any]) -> int:
        """Add or update an item; recommendable at once (scored from text until the next fit)."""
        position = self.catalogue.upsert(item_id, fields)
        self.lists.reset()
        return position

    def remove_item(self, item_id: str) -> bool:
        return self.catalogue.remove(item_id)

    def forget_user(self, user_id: str) -> bool:
        return self.users.forget(user_id)

    # serving
    def recommend(self, query: Query, users: UserLookup | None = None) -> Recommendation:
        """Answer one query (a batch of one through :meth:`recommend_many`).

        Raises:
            QueryError: Empty text, a ``history`` item id not in the catalogue, an unknown filter field.
        """
        return self.recommend_many([query], users)[0]

    def recommend_many(self, queries: Sequence[Query], users: UserLookup | None = None, batch=256, generative=True):
        """Answer queries in batches; ``users`` is the history lookup (default: the artifact's); through
        the attached LLM stages when there are (``generative``)."""
        if generative and self.generative is not None:
            return self.generative.recommend_many(queries, users)
        lookup, out = users or self.users, []
        for start in range(0, len(queries), batch):
            requests = [resolve(q, self.catalogue.vocab, lookup) for q in queries[start : start + batch]]
            out += self._answer(requests)
        return out

    def _scores(self, requests: Sequence[Request], notes: list[list[str]] | None = None):
        """``(chain, scores, boost)``: the fallback chain and its context-boosted ``(n, n_items)`` scores."""
        chain = self.chain.score(list(requests), len(self.catalogue))
        notes = notes if notes is not None else [[] for _ in requests]
        scores = self.text_blend.apply(chain.scores, requests, notes)
        return (chain, *self.context.apply(scores, [r.context for r in requests], notes))

    def _answer(self, requests: list[Request]) -> list[Recommendation]:
        chain, scores, boost = self._scores(requests, [r.notes for r in requests])
        rescore = lambda variants: self._scores(variants)[1]  # noqa: E731 (the explanations' counterfactuals)
        results = []
        for row, request in enumerate(requests):
            answering = self.chain.sources[chain.answered_by[row]]
            request.notes += answering.notes(request)
            names = np.asarray([s.label(request) for s in self.chain.sources] + [""], dtype=object)
            labels = RowLabels(names, chain.origin[row])  # origin -1 -> ""
            label = answering.label(request)
            results.append(self.lists.finish(request, scores[row], boost[row], labels, label, rescore))
        return results
