"""The request and answer types shared by the library, the CLI and the HTTP service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from semrec.frozen import FrozenConfig

Scalar = str | int | Annotated[float, Field(allow_inf_nan=False)] | bool | None
"""An attribute or context value; floats must be finite."""


@dataclass
class Explanation:
    """Why one item was recommended.

    Attributes:
        item_id: The recommended item.
        because: ``[(history item_id, weight)]``, the history items that support it most
            (weight: how many places the item falls in the served ranking without that history
            item, > 0: :mod:`semrec.pipeline.counterfactual`).
        shared: ``{attribute: [values]}`` the item shares with the cited history items.
        matched_words: Query words that occur in the item's text and whose removal from the
            query text lowers the item (it falls, or keeps its place at a lower score).
        interests: Interests read from the query text (its aspects) that the item carries and
            whose removal from the text lowers it, as ``matched_words``.
        popularity: Number of users who interacted with the item (training data).
        context: How the request context lifted the item (e.g. "fits the context 'rainy Sunday'").
        reason: One sentence built from the facts above only.
    """

    item_id: str
    because: list[tuple[str, float]] = field(default_factory=list)
    shared: dict[str, list[str]] = field(default_factory=dict)
    matched_words: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    popularity: int = 0
    context: list[str] = field(default_factory=list)
    reason: str = ""


class Query(FrozenConfig):
    """Who or what to recommend for. Every field is optional: an empty query gets popular items.

    The pipeline resolves a query into a request (stored history, profile, context) and answers it
    through one fallback chain, whatever the entry point (library, CLI, HTTP service, evaluation).
    """

    user_id: str | None = None
    """A known user's id: their stored history (and profile) is used; unknown ids fall back to
    ``history`` / ``text`` / ``attributes`` / popularity with a note."""
    history: list[str] = Field(default_factory=list)
    """Item ids the user interacted with, oldest first, appended to any stored history (fold-in)."""
    text: str | None = None
    """Free text: a self-description or a need; must not be empty or whitespace only."""
    k: int = Field(10, ge=1, le=100_000)
    """Number of items to return."""
    exclude: list[str] = Field(default_factory=list)
    """Item ids never to return."""
    exclude_seen: bool = True
    """Remove items in the history from the result."""
    candidates: list[str] | None = None
    """Only these item ids may be returned (candidate selection, e.g. a shelf or P3's cold items);
    ``None``: the whole catalogue. Unknown ids are ignored."""
    diversity: float = Field(0.0, ge=0.0, le=1.0)
    """Re-ranking strength: 0 keeps the relevance order, 1 is most diverse / most calibrated."""
    reranker: Literal["auto", "mmr", "mmr-tags", "calibrated", "topic"] = "auto"
    """``topic`` (Ziegler 2005 over genres), ``mmr`` (text-embedding similarity), ``mmr-tags`` (genre
    Jaccard), ``calibrated`` (Steck 2018); ``auto``: ``topic`` when items have genres, else ``mmr``."""
    explain: bool = False
    """Attach a grounded :class:`Explanation` to every item."""
    filters: dict[str, list[str]] = Field(default_factory=dict)
    """Attribute filters: keep items whose ``field`` holds one of the values, e.g. ``{"genres": ["Comedy"]}``."""
    attributes: dict[str, Scalar] = Field(default_factory=dict)
    """User attributes (age, gender, occupation, location ...) for attribute-aware cold start;
    they override attributes stored in the user's profile."""
    context: dict[str, Scalar] = Field(default_factory=dict)
    """Request context: ``time``/``timestamp`` (Unix seconds or ISO-8601: the request time, read by
    the new-user ranker), ``hour``, ``weekday``, and free-text values (``occasion``, ``weather``, ...)
    that are matched against item texts and blended into the ranking (:mod:`semrec.pipeline.context`)."""


@dataclass
class Recommendation:
    """A ranked list.

    Attributes:
        item_ids: ``(n,) str`` external ids, best first (``n <= k``).
        scores: ``(n,) float32`` pipeline scores; comparable within this list only (not probabilities).
        source: The component that answered the request (``onboarding-ranker``, ``hybrid``,
            ``handover``, ``text``, ``demographic-popularity``, ``attribute-factors``, ``most-popular``...).
        notes: Human-readable remarks (fallbacks taken, ids ignored, context applied).
        explanations: One :class:`Explanation` per item when the query asked.
        item_sources: ``(n,) str``: the component that scored each item (differs from ``source``
            for items filled in by a fallback after the answering component's candidates).
    """

    item_ids: np.ndarray
    scores: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)
    explanations: list[Explanation] | None = None
    item_sources: np.ndarray | None = None
