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


class RowLabels:
    """The names of the sources that scored one request's items, looked up only for the items asked
    (a whole ``(n_items,)`` object array per request costs more than the list it labels)."""

    def __init__(self, names: np.ndarray, origin: np.ndarray) -> None:
        self.names, self.origin = names, origin

    def __getitem__(self, items: np.ndarray) -> np.ndarray:
        return self.names[self.origin[items]]


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
            block = scores if len(rows) == n else scores[rows]
            new = np.isnan(block) & ~np.isnan(filled)
            later = (answered[rows] >= 0) & new.any(axis=1)
            if later.any():  # a later tier: strictly below everything scored so far, same order
                known, fresh, fresh_new = block[later], filled[later], new[later]
                floor = np.where(np.isfinite(known), known, np.inf).min(axis=1)
                top = np.where(fresh_new & np.isfinite(fresh), fresh, -np.inf).max(axis=1)
                floor, top = np.where(np.isinf(floor), 0.0, floor), np.where(np.isinf(top), 0.0, top)
                filled[later] = (floor - 1.0 - top)[:, None] + fresh
            first = (answered[rows] < 0) & new.any(axis=1)
            answered[rows[first]] = index
            np.copyto(block, filled, where=new)
            if len(rows) == n:
                origin[new] = index
            else:
                scores[rows] = block
                part = origin[rows]
                part[new] = index
                origin[rows] = part
        scores[np.isnan(scores)] = -np.inf
        return ChainScores(scores, origin, answered)
