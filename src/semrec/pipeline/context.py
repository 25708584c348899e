"""Request-time context: the request time and free-text occasions.

* **time** (``time``/``timestamp``, ``hour``, ``weekday``): parsed into :class:`RequestContext`; the
  request time is read by the new-user ranker (item age at request time). An hour/weekday item-lift
  model was tried and removed: on MovieLens the P1 validation slice preferred weight 0 for it
  (rating timestamps are entry times, not consumption times).
* **text** (``occasion``, ``weather``, ``mood`` ..., e.g. "rainy Sunday with kids"): the cosine
  between the context text and every item text, standardised and added to the standardised scores
  by :class:`ContextBoost`, a score combinator after the fallback chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from pydantic import Field

from semrec.errors import QueryError
from semrec.frozen import FrozenConfig

TIME_KEYS = frozenset({"time", "timestamp", "hour", "weekday"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ContextConfig(FrozenConfig):
    """How much request-time context moves the ranking (0 turns the text signal off)."""

    text_weight: float = Field(0.75, ge=0.0, le=10.0)
    """Weight of the free-text occasion similarity (in standard deviations of the base scores)."""


@dataclass(frozen=True)
class RequestContext:
    """A parsed context: UTC hour (0-23), weekday (0 = Monday) and free text, each optional."""

    hour: int | None = None
    weekday: int | None = None
    text: str | None = None
    timestamp: float | None = None
    """Unix seconds of the request when ``time``/``timestamp`` was given."""

    @classmethod
    def parse(cls, context: Mapping[str, str | int | float | bool | None]) -> RequestContext:
        """Read ``time``/``timestamp`` (Unix seconds or ISO-8601), ``hour``, ``weekday`` (0-6 or a
        name) and every other string value as free text (``"occasion"`` first, others as ``key: value``).

        Raises:
            QueryError: An unparsable time, hour or weekday.
        """
        hour = weekday = moment_ts = None
        stamp = context.get("time", context.get("timestamp"))
        if stamp is not None and stamp != "":
            try:
                numeric = isinstance(stamp, int | float) or str(stamp).replace(".", "", 1).isdigit()
                moment = (
                    datetime.fromtimestamp(float(str(stamp)), UTC) if numeric else datetime.fromisoformat(str(stamp))
                )
            except (ValueError, OverflowError, OSError):
                raise QueryError(f"context time {stamp!r} is neither Unix seconds nor ISO-8601") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
            hour, weekday, moment_ts = moment.hour, moment.weekday(), moment.timestamp()
        if context.get("hour") not in (None, ""):
            try:
                hour = int(str(context["hour"]))
                if not 0 <= hour <= 23:
                    raise ValueError
            except (TypeError, ValueError):
                raise QueryError(f"context hour must be 0-23, got {context['hour']!r}") from None
        if context.get("weekday") not in (None, ""):
            day = str(context["weekday"]).strip().lower()
            if day.isdigit() and 0 <= int(day) <= 6:
                weekday = int(day)
            elif day in WEEKDAYS or day[:3] in {w[:3] for w in WEEKDAYS}:
                weekday = [w[:3] for w in WEEKDAYS].index(day[:3])
            else:
                raise QueryError(f"context weekday must be 0-6 or a day name, got {context['weekday']!r}")
        parts = []
        occasion = context.get("occasion")
        if isinstance(occasion, str) and occasion.strip():
            parts.append(occasion.strip())
        for key, value in context.items():
            if key not in TIME_KEYS and key != "occasion" and isinstance(value, str) and value.strip():
                parts.append(f"{key}: {value.strip()}")
        return cls(hour, weekday, ". ".join(parts) or None, moment_ts)


def standardise(scores: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` over the finite entries (others kept); all-equal rows become 0."""
    finite = np.isfinite(scores)
    out = np.array(scores, dtype=np.float32, copy=True)
    if finite.sum() < 2:
        return np.where(finite, 0.0, out).astype(np.float32)
    values = scores[finite]
    spread = values.std()
    out[finite] = (values - values.mean()) / spread if spread > 0 else 0.0
    return out


class ContextBoost:
    """Score combinator: ``z(scores) + text_weight * z(cos(context text, item texts))``.

    Args:
        config: The weights.
        text_scores: ``f(texts) -> (len(texts), n_items) float32`` cosine of each text with every item.
    """

    name = "context"

    def __init__(self, config: ContextConfig, text_scores) -> None:
        self.config, self.text_scores = config, text_scores

    def apply(
        self, scores: np.ndarray, contexts: list[RequestContext | None], notes: list[list[str]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Boost the rows whose context has text; other rows are returned unchanged.

        Args:
            scores: ``(n, n_items) float32`` pipeline scores (``-inf``/NaN entries are kept).
            contexts: One parsed context (or ``None``) per row.
            notes: One note list per row; a note is added where the context applied.

        Returns:
            ``(scores, boost)``: the combined ``(n, n_items) float32`` scores and the
            ``(n, n_items) float32`` standardised boost (0 where no context applied).
        """
        boost = np.zeros_like(scores, dtype=np.float32)
        texts = {r: c.text for r, c in enumerate(contexts) if c is not None and c.text and self.config.text_weight > 0}
        out = np.array(scores, dtype=np.float32, copy=True)
        rows = list(texts)
        if rows:
            similarity = self.text_scores(list(texts.values()))  # (len(rows), n_items)
            for n, row in enumerate(rows):
                boost[row] = self.config.text_weight * standardise(similarity[n])
                out[row] = standardise(scores[row]) + boost[row]
                notes[row].append(f"ranked with the context {texts[row]!r}")
        for row, context in enumerate(contexts):
            if context is not None and row not in rows and context.timestamp is None:
                notes[row].append("context recorded; no context signal applies to it")
        return out, boost
