"""The list stage: candidate selection, top-k, re-ranking and explanations of one request."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from semrec.pipeline.blend import RowLabels
from semrec.pipeline.candidates import CandidateSelector
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.counterfactual import history_effects, joint_text_effects, text_effects
from semrec.pipeline.explain import Explainer
from semrec.pipeline.intent import Aspect, IntentStage
from semrec.pipeline.request import Request
from semrec.pipeline.rerank import Reranker, build_reranker
from semrec.pipeline.topk import select
from semrec.types import Explanation, Recommendation


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
        item_labels: np.ndarray | RowLabels,
        source: str,
        rescore: Callable[[Sequence[Request]], np.ndarray] | None = None,
    ) -> Recommendation:
        """Block, take the top k (re-ranked when ``diversity > 0``) and explain.

        Args:
            scores: ``(n_items,) float32`` the request's pipeline scores.
            boost: ``(n_items,) float32`` standardised context boost (0 where none applied).
            item_labels: ``(n_items,) str`` the component that scored each item (indexed by the
                chosen items only, so a :class:`~semrec.pipeline.blend.RowLabels` will do).
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
            explanations = self._explain(request, scores, boost, chosen, blocked, aspects, rescore)
        return Recommendation(self.catalogue.vocab.ids[chosen], values, source, request.notes, explanations, labels)

    def _explain(
        self,
        request: Request,
        final: np.ndarray,
        boost: np.ndarray,
        chosen: np.ndarray,
        blocked: np.ndarray,
        aspects: list[Aspect],
        rescore: Callable[[Sequence[Request]], np.ndarray] | None,
    ) -> list[Explanation]:
        """Explanations of ``chosen`` that cite only what raised each item (history items, the
        text's interests and words: :mod:`semrec.pipeline.counterfactual`).

        Args:
            final: ``(n_items,)`` the request's final scores (after the intent ordering).
        """
        history, effects = request.history[:0], np.zeros((0, len(chosen)), dtype=np.int64)
        named = [a.text for a in aspects if a.values]
        matched = [self.explainer.matched(int(item), request.text) if request.text else [] for item in chosen]
        parts = list(dict.fromkeys(named + [w for m in matched for w in m]))  # each removal scored once
        drops = np.zeros((len(parts), len(chosen)), dtype=np.int64)
        if rescore is not None:

            def ordered(requests: Sequence[Request]) -> np.ndarray:
                return np.stack([self._order(r, row, blocked)[0] for r, row in zip(requests, rescore(requests))])

            if len(request.history):
                history, effects = history_effects(ordered, request, final, chosen, blocked)
            if parts:
                drops = text_effects(ordered, request, final, chosen, blocked, parts)
        # cite every text part (an interest the item carries, a word it shares) whose removal drops
        # it; when the parts removed together do not, only the one that drops it most
        carried = [set(self._aspect_reasons(int(item), aspects).values()) for item in chosen]
        lifted = [
            sorted(
                (p for j, p in enumerate(parts) if drops[j, c] > 0 and (p in carried[c] or p in matched[c])),
                key=lambda p: -drops[parts.index(p), c],
            )
            for c in range(len(chosen))
        ]
        several = [c for c in range(len(chosen)) if len(lifted[c]) > 1]
        if several and rescore is not None:
            joint = joint_text_effects(ordered, request, final, chosen[several], blocked, [lifted[c] for c in several])
            for c, drop in zip(several, joint):
                lifted[c] = lifted[c] if drop > 0 else lifted[c][:1]
        out = []
        for column, item in enumerate(chosen):
            moved = boost[item] > 1.0  # > 1 std: the context really lifted it
            context = request.context
            why = [f"fits the context '{context.text}'"] if moved and context is not None else []
            interests = self._aspect_reasons(int(item), [a for a in aspects if a.text in lifted[column]])
            cited = [w for w in matched[column] if w in lifted[column]]
            explanation = self.explainer.explain(int(item), history, effects[:, column], cited, why + list(interests))
            explanation.interests = list(dict.fromkeys(interests.values()))
            out.append(explanation)
        return out

    def _order(self, request: Request, scores: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, list[Aspect], str]:
        """The intent ordering of a request's scores (unchanged without text or intent stage)."""
        if request.text is None or self.intent is None:
            return scores, [], ""
        return self.intent.order(request.text, scores, blocked)

    def _aspect_reasons(self, item: int, aspects: list[Aspect]) -> dict[str, str]:
        """``{reason: aspect text}`` for the request's interests that ``item`` carries (the reason
        the intent ordering placed it)."""
        if not aspects or self.intent is None:
            return {}
        names, member, _ = self.intent.values()
        return {
            f"is {value}, which the request asks for ('{a.text}')": a.text
            for a in aspects
            for value in a.values
            if member[names.index(value), item]
        }
