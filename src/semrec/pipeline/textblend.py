"""Text and history together: a request that carries both is ranked by both.

"I have seen these; tonight something scary": the history's scores (whichever source of the chain
answered) and the text route's scores (:class:`~semrec.pipeline.sources.TextSource`: described
users, the value route and the item-text match) are standardised and added, the text with weight
``w(n) = weight * half / (half + n)`` for a history of ``n`` items: the text counts most while the
history is short and fades as behaviour accumulates. A stored profile text counts the same way
after the first events. ``weight`` and ``half`` were chosen on simulated onboarding inside P2's
train users (``benchmarks/text_users.py --tune``), never on evaluation users.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import NonNegativeFloat, PositiveFloat

from semrec.frozen import FrozenConfig
from semrec.pipeline.context import standardise

if TYPE_CHECKING:
    from semrec.pipeline.request import Request
    from semrec.pipeline.sources import TextSource


class TextBlendConfig(FrozenConfig):
    """Weight of a request's text next to its history (:mod:`semrec.pipeline.textblend`)."""

    weight: NonNegativeFloat = 0.25
    """Text weight for a history of 0 items, relative to the standardised history scores (0: off).
    Chosen with ``half`` on ``benchmarks/text_users.py --tune`` (histories of 2, 5 and 10 items,
    English and Chinese): 0.25 / 10 was best or within 0.002 of the best at every length; 0 (the
    text only orders the list by the values it names) lost 0.01-0.03 everywhere."""
    half: PositiveFloat = 10.0
    """History length at which the text weight is half of ``weight``."""

    def text_weight(self, n_history: int) -> float:
        """``weight * half / (half + n_history)``."""
        return self.weight * self.half / (self.half + n_history)


class TextBlend:
    """Adds the text route's scores to the rows of requests with a text and a history."""

    def __init__(self, config: TextBlendConfig, text: TextSource) -> None:
        self.config, self.text = config, text

    def apply(self, scores: np.ndarray, requests: Sequence[Request], notes: list[list[str]]) -> np.ndarray:
        """``(n, n_items) float32`` scores; rows without both a text and a history are unchanged.

        Args:
            scores: ``(n, n_items) float32`` the chain's scores (``-inf`` where none could score).
            requests: The batch, aligned with ``scores``.
            notes: One note list per row; a note is added where the text counted.
        """
        rows = [r for r, q in enumerate(requests) if q.text is not None and len(q.history) and self.config.weight > 0]
        if not rows:
            return scores
        out = np.array(scores, dtype=np.float32, copy=True)
        # the text route reads only the text: score each distinct text once (an explanation's
        # counterfactual variants all carry the same text)
        first = {requests[r].text: r for r in reversed(rows)}
        scored = dict(zip(first, self.text.score([requests[r] for r in first.values()])))
        for row in rows:
            text = scored[requests[row].text]  # (n_items,), NaN: cannot score
            if np.isnan(text).all():
                continue
            weight = requests[row].text_weight = self.config.text_weight(len(requests[row].history))
            finite = np.isfinite(scores[row])
            out[row] = np.where(finite, standardise(scores[row]) + weight * np.nan_to_num(standardise(text)), -np.inf)
            notes[row].append(f"ranked by the history and the text together (text weight {weight:.2f})")
        return out
