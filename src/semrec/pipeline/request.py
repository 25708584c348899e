"""Query -> request: the history lookup stage of the pipeline.

A :class:`Request` is everything the scoring stages read: the history as item positions
(stored + request-time), the text (the query's, else the stored profile's), the attributes
(stored, overridden by the query's) and the parsed context. Notes collect what the user should
know about how the request was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semrec.errors import QueryError
from semrec.pipeline.context import RequestContext
from semrec.pipeline.users import UserLookup, UserRecord
from semrec.text.preprocess import has_content
from semrec.types import Query
from semrec.vocab import IdVocabulary

LONG_TEXT_CHARS = 2000


@dataclass
class Request:
    """A resolved query.

    Attributes:
        query: The query as given.
        history: ``(n,) int64`` item positions, oldest first (stored, then ``query.history``).
        text: The query text, else the user's stored profile text, else ``None``.
        attributes: Stored attributes overridden by the query's.
        context: The parsed context, or ``None``.
        notes: Remarks for the answer.
        text_from_profile: ``text`` came from the stored profile.
        text_weight: The weight ``text`` had next to the history (set by
            :class:`~semrec.pipeline.textblend.TextBlend`; 0: it did not count there).
    """

    query: Query
    history: np.ndarray
    text: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    context: RequestContext | None = None
    notes: list[str] = field(default_factory=list)
    text_from_profile: bool = False
    text_weight: float = 0.0

    @property
    def request_time(self) -> float | None:
        """Unix seconds of the request when the context gave a time, else ``None``."""
        return None if self.context is None else self.context.timestamp


def resolve(query: Query, vocab: IdVocabulary, users: UserLookup) -> Request:
    """Look the user up and read the query into a :class:`Request`.

    Raises:
        QueryError: Empty or whitespace-only text, a ``history`` item id not in the catalogue,
            or an unparsable context time.
    """
    notes: list[str] = []
    record: UserRecord | None = None
    if query.user_id is not None:
        record = users.lookup(query.user_id, vocab)
        if record is None:
            given = query.history or query.text is not None or query.attributes
            then = "using the request's history/text/attributes instead" if given else "falling back"
            notes.append(f"user {query.user_id!r} is unknown; {then}")
    if query.text is not None and not query.text.strip():
        raise QueryError("text query is empty (or whitespace only); give some words or omit it")
    history = record.history if record is not None else np.zeros(0, dtype=np.int64)
    if query.history:
        unknown = [i for i in query.history if i not in vocab]
        if unknown:
            raise QueryError(f"history names unknown item id(s): {', '.join(map(repr, unknown[:5]))}")
        history = np.concatenate([history, vocab.index(query.history)])
    text, from_profile = query.text, False
    if text is None and record is not None and record.text and record.text.strip():
        text, from_profile = record.text, True
    if text is not None and not has_content(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        notes.append(f"the text {shown!r} has no content words in any language: ignored")
        text, from_profile = None, False
    if text is not None and len(text) > LONG_TEXT_CHARS:
        notes.append("long text: the encoder reads only its first few hundred words")
    attributes = {**(record.attributes if record is not None else {}), **query.attributes}
    context = RequestContext.parse(query.context) if query.context else None
    return Request(query, np.asarray(history, dtype=np.int64), text, attributes, context, notes, from_profile)
