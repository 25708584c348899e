"""Grounded explanations: every cited fact is read from the data, never generated.

For an item recommended from a history, the reason cites the user's own history items that
contribute most to its score (the scorer's exact item-item contributions when it has them,
e.g. EASE, else text-embedding cosine) and the attribute values (genres, director, cast ...)
the item really shares with those items. In the pipeline, the cited history items are those whose
removal moves the item down the served ranking (:mod:`semrec.pipeline.counterfactual`). For a text
query it cites the query words found in the item's text. A fallback says the item is popular and
how many users interacted with it (an item nobody touched is said to be new).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from semrec.data.tables import split_list
from semrec.text.preprocess import tokenize
from semrec.types import Explanation

EXPLAIN_FIELDS = ("genres", "director", "writer", "cast", "brand", "category")
"""Item columns whose shared values are cited (those the catalogue has)."""


def words(text: str) -> set[str]:
    """Topic words of ``text`` (see :func:`semrec.text.preprocess.tokenize`; Chinese is segmented)."""
    return set(tokenize(text))


class Explainer:
    """Builds :class:`Explanation` objects for a fitted recommender's items.

    Args:
        items: Item table; row ``i`` is item position ``i``; needs ``item_id``, optionally ``title``,
            ``text`` and the :data:`EXPLAIN_FIELDS` columns.
        item_embeddings: ``(n_items, dim) float32`` L2-normalised.
        popularity: ``(n_items,)`` users per item.
        contributions: Optional ``f(history, item) -> (len(history),) float`` exact item-item
            contributions of the scorer (EASE's ``B[history, item]``).
        max_cited: History items cited per explanation.
    """

    def __init__(
        self,
        items: pd.DataFrame,
        item_embeddings: np.ndarray,
        popularity: np.ndarray,
        contributions=None,
        max_cited: int = 2,
    ) -> None:
        self.ids = items["item_id"].astype(str).to_numpy()
        self.titles = items["title"].astype(str).to_numpy() if "title" in items else self.ids
        self.texts = items["text"].astype(str).to_numpy() if "text" in items else self.titles
        self.fields = {f: [set(split_list(v)) for v in items[f]] for f in EXPLAIN_FIELDS if f in items}
        self.embeddings = item_embeddings
        self.popularity = np.asarray(popularity)
        self.contributions = contributions
        self.max_cited = max_cited

    def explain(
        self,
        item: int,
        history: np.ndarray,
        text: str | None,
        source: str,
        context: list[str] | None = None,
        effects: np.ndarray | None = None,
    ) -> Explanation:
        """Explain item position ``item`` recommended from ``history`` (positions) and/or ``text``.

        Args:
            context: How the request context (or the request's named interests) lifted it,
                computed by the caller from the scores.
            effects: ``(len(history),)`` how far the item falls without each history item (the
                pipeline's counterfactual: :mod:`semrec.pipeline.counterfactual`); ``history``
                must then be those distinct items. Without it: the scorer's contributions, else
                the text cosine (for direct use of the explainer).
        """
        out = Explanation(self.ids[item], popularity=int(self.popularity[item]), context=list(context or []))
        unique = np.asarray(history) if effects is not None else np.unique(history)
        if effects is not None:
            weights = np.asarray(effects, dtype=np.float64)
            top = np.argsort(-weights, kind="stable")[: self.max_cited]
            cited = [int(unique[j]) for j in top if weights[j] > 0]
            out.because = [(self.ids[unique[j]], float(weights[j])) for j in top if weights[j] > 0]
            self._shared(out, item, cited)
        elif len(unique) and source not in ("text", "most-popular"):
            if self.contributions is not None:
                weights = np.asarray(self.contributions(unique, item), dtype=np.float64)
            else:
                weights = self.embeddings[unique] @ self.embeddings[item]
            top = np.argsort(-weights, kind="stable")[: self.max_cited]
            cited = [int(unique[j]) for j in top if weights[j] > 0]
            out.because = [(self.ids[c], float(weights[list(unique).index(c)])) for c in cited]
            self._shared(out, item, cited)
        if text:
            out.matched_words = sorted(words(text) & words(self.texts[item]))[:5]
        out.reason = self._sentence(out)
        return out

    def _shared(self, out: Explanation, item: int, cited: list[int]) -> None:
        for name, values in self.fields.items():
            common = set().union(*(values[c] for c in cited)) & values[item] if cited else set()
            if common:
                out.shared[name] = sorted(common)[:3]

    def _sentence(self, e: Explanation) -> str:
        parts = []
        if e.because:
            titles = [self.titles[np.flatnonzero(self.ids == i)[0]] for i, _ in e.because]
            parts.append("Because you liked " + " and ".join(titles))
            if e.shared:
                facts = "; ".join(f"{name} {', '.join(values)}" for name, values in e.shared.items())
                parts.append(f"shares {facts}")
        if e.matched_words:
            parts.append("matches your words: " + ", ".join(e.matched_words))
        parts += e.context
        if not parts and e.popularity > 0:
            parts.append(f"Popular: {e.popularity} users interacted with it")
        elif not parts:
            parts.append("New in the catalogue: no one has interacted with it yet")
        sentence = "; ".join(parts)
        return sentence[0].upper() + sentence[1:] + "."
