"""Fallback: the first source that can score an item scores it; the next fills what is missing.

In the spirit of LensKit's ``FallbackScorer`` (``lenskit.basic.composite``): NaN means "cannot
score", and a backup source is asked only for the requests with missing entries. Entries filled by
a later source rank after every entry of the earlier ones in the same request (tiers), keeping
the later source's own order, so a ranker that scores only its candidates puts them first and
the next source orders the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semrec.pipeline.request import Request
from semrec.pipeline.sources import Source


@dataclass
class ChainScores:
    """The chain's answer for a batch.

    Attributes:
        scores: ``(n, n_items) float32``; ``-inf`` where no source could score.
        origin: ``(n, n_items) int8``: index of the source that scored each entry (-1: none).
        answered_by: ``(n,) int64``: the first source that scored each request.
    """

    scores: np.ndarray
    origin: np.ndarray
    answered_by: np.ndarray


class FallbackChain:
    """Sources in order of preference; see the module docstring."""

    def __init__(self, sources: Sequence[Source]) -> None:
        if not sources:
            raise ValueError("a fallback chain needs at least one source")
        self.sources = list(sources)

    def score(self, requests: Sequence[Request], n_items: int) -> ChainScores:
        """Score every request with the first source that can, filling gaps from the next ones."""
        n = len(requests)
        scores = np.full((n, n_items), np.nan, dtype=np.float32)
        origin = np.full((n, n_items), -1, dtype=np.int8)
        answered = np.full(n, -1, dtype=np.int64)
        for index, source in enumerate(self.sources):
            rows = np.flatnonzero(np.isnan(scores).any(axis=1))
            if not len(rows):
                break
            filled = source.score([requests[int(r)] for r in rows])
            for n_row, row in enumerate(rows):
                new = np.isnan(scores[row]) & ~np.isnan(filled[n_row])
                if not new.any():
                    continue
                values = filled[n_row, new]
                if answered[row] >= 0:  # a later tier: strictly below everything scored so far, same order
                    finite = scores[row][np.isfinite(scores[row])]
                    floor = finite.min() if len(finite) else 0.0
                    top = values[np.isfinite(values)].max() if np.isfinite(values).any() else 0.0
                    values = floor - 1.0 - (top - values)
                else:
                    answered[row] = index
                scores[row, new] = values
                origin[row, new] = index
        scores[np.isnan(scores)] = -np.inf
        return ChainScores(scores, origin, answered)
