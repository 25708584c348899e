"""The list stage: candidate selection, top-k, re-ranking and explanations of one request."""

from __future__ import annotations

import numpy as np

from semrec.pipeline.candidates import CandidateSelector
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.explain import Explainer
from semrec.pipeline.request import Request
from semrec.pipeline.rerank import Reranker, build_reranker
from semrec.pipeline.topk import select
from semrec.types import Recommendation


class ListStage:
    """Turns a request's pipeline scores into its :class:`~semrec.types.Recommendation`.

    Args:
        catalogue: The served catalogue.
        popularity: ``(n_fitted,) float`` training interaction counts (cited by explanations).
        contributions: The main scorer's exact item-item contributions, or ``None``.
    """

    def __init__(self, catalogue: Catalogue, popularity: np.ndarray, contributions=None) -> None:
        self.catalogue, self.popularity, self.contributions = catalogue, popularity, contributions
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
            self._explainer = Explainer(self.catalogue.items, self.catalogue.embeddings, counts, self.contributions)
        return self._explainer

    def finish(
        self, request: Request, scores: np.ndarray, boost: np.ndarray, item_labels: np.ndarray, source: str
    ) -> Recommendation:
        """Block, take the top k (re-ranked when ``diversity > 0``) and explain.

        Args:
            scores: ``(n_items,) float32`` the request's pipeline scores.
            boost: ``(n_items,) float32`` standardised context boost (0 where none applied).
            item_labels: ``(n_items,) str`` the component that scored each item.
            source: The component that answered the request.
        """
        query = request.query
        reranker = self.reranker(query.reranker) if query.diversity > 0 else None
        chosen, values = select(
            scores, self.selector.blocked(request), query.k, query.diversity, reranker, request.history
        )
        if len(chosen) < query.k:
            request.notes.append(f"only {len(chosen)} items left after excluding the history, exclusions and filters")
        labels = item_labels[chosen]
        explanations = None
        if query.explain:
            explanations = []
            for item, label in zip(chosen, labels):
                moved = boost[item] > 1.0  # > 1 std: the context really lifted it
                context = request.context
                why = [f"fits the context '{context.text}'"] if moved and context is not None else []
                history = request.history if label not in ("text", "most-popular") else request.history[:0]
                explanations.append(self.explainer.explain(int(item), history, request.text, str(label), why))
        return Recommendation(self.catalogue.vocab.ids[chosen], values, source, request.notes, explanations, labels)
