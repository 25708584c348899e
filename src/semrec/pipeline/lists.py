"""The list stage: candidate selection, top-k, re-ranking and explanations of one request."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from semrec.pipeline.candidates import CandidateSelector
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.counterfactual import history_effects
from semrec.pipeline.explain import Explainer
from semrec.pipeline.intent import Aspect, IntentStage
from semrec.pipeline.request import Request
from semrec.pipeline.rerank import Reranker, build_reranker
from semrec.pipeline.topk import select
from semrec.types import Recommendation


class ListStage:
    """Turns a request's pipeline scores into its :class:`~semrec.types.Recommendation`.

    Args:
        catalogue: The served catalogue.
        popularity: ``(n_fitted,) float`` training interaction counts (cited by explanations).
        intent: Orders the list by the interests a request text names (``None``: off).
    """

    def __init__(self, catalogue: Catalogue, popularity: np.ndarray, intent: IntentStage | None = None) -> None:
        self.catalogue, self.popularity, self.intent = catalogue, popularity, intent
        self.selector = CandidateSelector(catalogue)
        self._rerankers: dict[str, Reranker] = {}
        self._explainer: Explainer | None = None

    def reset(self) -> None:
        """Forget derived structures after the catalogue changed."""
        self._rerankers.clear()
        self._explainer = None

    def reranker(self, name: str) -> Reranker:
        """The re-ranker ``name`` (built once); ``auto``: ``topic`` when items have genres, else ``mmr``."""
        tags = self.catalogue.tags()
        if name == "auto":
            name = "topic" if any(t is not None for t in tags) else "mmr"
        if name not in self._rerankers:
            self._rerankers[name] = build_reranker(name, self.catalogue.embeddings, tags)
        return self._rerankers[name]

    @property
    def explainer(self) -> Explainer:
        """The grounded explainer over this catalogue (built on first use)."""
        if self._explainer is None:
            counts = np.pad(self.popularity, (0, max(0, len(self.catalogue) - len(self.popularity))))
            self._explainer = Explainer(self.catalogue.items, self.catalogue.embeddings, counts)
        return self._explainer

    def finish(
        self,
        request: Request,
        scores: np.ndarray,
        boost: np.ndarray,
        item_labels: np.ndarray,
        source: str,
        rescore: Callable[[Sequence[Request]], np.ndarray] | None = None,
    ) -> Recommendation:
        """Block, take the top k (re-ranked when ``diversity > 0``) and explain.

        Args:
            scores: ``(n_items,) float32`` the request's pipeline scores.
            boost: ``(n_items,) float32`` standardised context boost (0 where none applied).
            item_labels: ``(n_items,) str`` the component that scored each item.
            source: The component that answered the request.
            rescore: The scores (before this stage) of other requests, for the counterfactual
                effects that explanations cite (``None``: explanations cite no history item).
        """
        query = request.query
        reranker = self.reranker(query.reranker) if query.diversity > 0 else None
        blocked = self.selector.blocked(request)
        scores, aspects, note = self._order(request, scores, blocked)
        request.notes += [note] if note else []
        if request.text is not None and source != "text" and not (aspects or request.text_weight):
            request.notes.append("text ignored: the user has a history and the text blend is off")
        chosen, values = select(scores, blocked, query.k, query.diversity, reranker, request.history)
        if len(chosen) < query.k:
            request.notes.append(f"only {len(chosen)} items left after excluding the history, exclusions and filters")
        labels = item_labels[chosen]
        explanations = None
        if query.explain:
            explanations = []
            history, effects = request.history[:0], np.zeros((0, len(chosen)), dtype=np.int64)
            if rescore is not None and len(request.history):

                def final(requests: Sequence[Request]) -> np.ndarray:
                    rows = rescore(requests)
                    return np.stack([self._order(r, row, blocked)[0] for r, row in zip(requests, rows)])

                history, effects = history_effects(final, request, scores, chosen, blocked)
            for column, item in enumerate(chosen):
                moved = boost[item] > 1.0  # > 1 std: the context really lifted it
                context = request.context
                why = [f"fits the context '{context.text}'"] if moved and context is not None else []
                why += self._aspect_reasons(int(item), aspects)
                explanations.append(self.explainer.explain(int(item), history, effects[:, column], request.text, why))
        return Recommendation(self.catalogue.vocab.ids[chosen], values, source, request.notes, explanations, labels)

    def _order(self, request: Request, scores: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, list[Aspect], str]:
        """The intent ordering of a request's scores (unchanged without text or intent stage)."""
        if request.text is None or self.intent is None:
            return scores, [], ""
        return self.intent.order(request.text, scores, blocked)

    def _aspect_reasons(self, item: int, aspects: list[Aspect]) -> list[str]:
        """The request's interests that ``item`` carries (the reason the intent ordering placed it)."""
        if not aspects or self.intent is None:
            return []
        names, member, _ = self.intent.values()
        return [
            f"is {value}, which the request asks for ('{a.text}')"
            for a in aspects
            for value in a.values
            if member[names.index(value), item]
        ]
