"""Candidate selection: which items a request may receive (applied once, after scoring).

As in LensKit's ``candidates`` components: the history (``exclude_seen``), the query's
``exclude`` ids, items removed from the catalogue, attribute ``filters`` and an explicit
``candidates`` allow-list are all selection configuration, not scoring.
"""

from __future__ import annotations

import numpy as np

from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.request import Request


class CandidateSelector:
    """Builds the blocked-item mask of a request over a catalogue."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def blocked(self, request: Request) -> np.ndarray:
        """``(n_items,) bool``: items the request must not receive.

        Raises:
            QueryError: A filter names an unknown item field.
        """
        query, catalogue = request.query, self.catalogue
        blocked = np.zeros(len(catalogue), dtype=bool)
        if query.exclude_seen and len(request.history):
            blocked[request.history] = True
        blocked[[p for p in map(catalogue.vocab.get, query.exclude) if p is not None]] = True
        blocked[list(catalogue.removed)] = True
        if query.filters:
            blocked |= ~catalogue.filter_mask(query.filters)
        if query.candidates is not None:
            allowed = np.zeros(len(catalogue), dtype=bool)
            allowed[[p for p in map(catalogue.vocab.get, query.candidates) if p is not None]] = True
            blocked |= ~allowed
        return blocked
