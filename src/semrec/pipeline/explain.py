"""Grounded explanations: every cited fact is read from the data, never generated.

For an item recommended from a history, the reason cites the user's own history items whose
removal moves the item furthest down the served ranking (:mod:`semrec.pipeline.counterfactual`)
and the attribute values (genres, director, cast ...) the item really shares with those items. For a text
query it cites the query words found in the item's text. A fallback says the item is popular and
how many users interacted with it (an item nobody touched is said to be new).
"""

from __future__ import annotations

from collections.abc import Sequence

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
        max_cited: History items cited per explanation.
    """

    def __init__(
        self,
        items: pd.DataFrame,
        item_embeddings: np.ndarray,
        popularity: np.ndarray,
        max_cited: int = 2,
    ) -> None:
        self.ids = items["item_id"].astype(str).to_numpy()
        self.titles = items["title"].astype(str).to_numpy() if "title" in items else self.ids
        self.texts = items["text"].astype(str).to_numpy() if "text" in items else self.titles
        self.fields = {f: [set(split_list(v)) for v in items[f]] for f in EXPLAIN_FIELDS if f in items}
        self.embeddings = item_embeddings
        self.popularity = np.asarray(popularity)
        self.max_cited = max_cited

    def explain(
        self,
        item: int,
        history: np.ndarray,
        effects: np.ndarray,
        matched: Sequence[str] = (),
        context: list[str] | None = None,
    ) -> Explanation:
        """Explain item position ``item``.

        Args:
            history: ``(h,) int64`` distinct history positions whose effects were measured.
            effects: ``(h,)`` how far the item falls without each of them (the pipeline's
                counterfactual, :mod:`semrec.pipeline.counterfactual`); only positive ones are cited.
            matched: Request-text words to cite (from :meth:`matched`, those whose removal from the
                text lowers the item: the caller's counterfactual).
            context: How the request context (or the request's named interests) lifted it,
                computed by the caller from the scores.
        """
        out = Explanation(self.ids[item], popularity=int(self.popularity[item]), context=list(context or []))
        weights = np.asarray(effects, dtype=np.float64)
        top = [j for j in np.argsort(-weights, kind="stable")[: self.max_cited] if weights[j] > 0]
        cited = [int(history[j]) for j in top]
        out.because = [(self.ids[c], float(weights[j])) for c, j in zip(cited, top)]
        for name, values in self.fields.items():
            common = set().union(*(values[c] for c in cited)) & values[item] if cited else set()
            if common:
                out.shared[name] = sorted(common)[:3]
        out.matched_words = list(matched)
        out.reason = self._sentence(out)
        return out

    def matched(self, item: int, text: str) -> list[str]:
        """The (at most 5) words of ``text`` found in item ``item``'s text, sorted."""
        return sorted(words(text) & words(self.texts[item]))[:5]

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
