"""Request-time context: time of day / weekday item affinities and free-text occasions.

Two signals move a ranking, each standardised and added to the standardised base scores:

* **time**: the lift ``log p(item | bucket) - log p(item)`` of the request's 4-hour bucket and
  weekday, learned from interaction timestamps at fit time (add-one smoothed);
* **text**: the cosine between the context's free text (``occasion``, ``weather``, ``mood`` ...,
  e.g. "rainy Sunday with kids") and every item text, through the catalogue's encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from semrec.errors import QueryError

TIME_KEYS = frozenset({"time", "timestamp", "hour", "weekday"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOUR_BUCKETS = 6  # 4-hour buckets: night, early morning, morning, afternoon, evening, late evening


class ContextConfig(BaseModel):
    """How much request-time context moves the ranking (0 turns a signal off)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_weight: float = Field(0.0, ge=0.0, le=10.0)
    """Weight of the hour/weekday lift. 0 by default: on MovieLens-100K the P1 validation slice
    preferred 0 (rating timestamps are entry times, not viewing times); set it for data whose
    timestamps are consumption times."""
    text_weight: float = Field(0.75, ge=0.0, le=10.0)
    """Weight of the free-text occasion similarity."""


@dataclass(frozen=True)
class RequestContext:
    """A parsed context: UTC hour (0-23), weekday (0 = Monday) and free text, each optional."""

    hour: int | None = None
    weekday: int | None = None
    text: str | None = None
    timestamp: float | None = None
    """Unix seconds of the request when ``time``/``timestamp`` was given."""

    @classmethod
    def parse(cls, context: Mapping[str, object]) -> RequestContext:
        """Read ``time``/``timestamp`` (Unix seconds or ISO-8601), ``hour``, ``weekday`` (0-6 or a
        name) and every other string value as free text (``"occasion"`` first, others as ``key: value``).

        Raises:
            QueryError: An unparsable time, hour or weekday.
        """
        hour = weekday = moment_ts = None
        stamp = context.get("time", context.get("timestamp"))
        if stamp is not None and stamp != "":
            try:
                moment = (datetime.fromtimestamp(float(stamp), timezone.utc) if isinstance(stamp, (int, float))
                          or str(stamp).replace(".", "", 1).isdigit() else datetime.fromisoformat(str(stamp)))  # fmt: skip
            except (ValueError, OverflowError, OSError):
                raise QueryError(f"context time {stamp!r} is neither Unix seconds nor ISO-8601") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            moment = moment.astimezone(timezone.utc)
            hour, weekday, moment_ts = moment.hour, moment.weekday(), moment.timestamp()
        if context.get("hour") not in (None, ""):
            try:
                hour = int(context["hour"])
                if not 0 <= hour <= 23:
                    raise ValueError
            except (TypeError, ValueError):
                raise QueryError(f"context hour must be 0-23, got {context['hour']!r}") from None
        if context.get("weekday") not in (None, ""):
            value = str(context["weekday"]).strip().lower()
            if value.isdigit() and 0 <= int(value) <= 6:
                weekday = int(value)
            elif value in WEEKDAYS or value[:3] in {w[:3] for w in WEEKDAYS}:
                weekday = [w[:3] for w in WEEKDAYS].index(value[:3])
            else:
                raise QueryError(f"context weekday must be 0-6 or a day name, got {context['weekday']!r}")
        parts = []
        if isinstance(context.get("occasion"), str) and context["occasion"].strip():
            parts.append(context["occasion"].strip())
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


class TimeContextModel:
    """Item affinity per 4-hour bucket and weekday, from interaction timestamps.

    Args:
        hour_counts: ``(6, n_items) float32`` interactions per bucket and item.
        weekday_counts: ``(7, n_items) float32`` interactions per weekday and item.
    """

    def __init__(self, hour_counts: np.ndarray, weekday_counts: np.ndarray) -> None:
        self.hour_counts = hour_counts.astype(np.float32)
        self.weekday_counts = weekday_counts.astype(np.float32)

    @classmethod
    def fit(cls, histories: Sequence[np.ndarray], times: Sequence[np.ndarray], n_items: int) -> TimeContextModel:
        """Count interactions per (bucket, item) and (weekday, item); timestamps in Unix seconds (UTC)."""
        items = np.concatenate(histories).astype(np.int64) if len(histories) else np.zeros(0, np.int64)
        stamps = np.concatenate(times).astype(np.int64) if len(times) else np.zeros(0, np.int64)
        hours = (stamps // 3600) % 24 // (24 // HOUR_BUCKETS)
        weekdays = (stamps // 86400 + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
        hour_counts = np.zeros((HOUR_BUCKETS, n_items), np.float32)
        weekday_counts = np.zeros((7, n_items), np.float32)
        np.add.at(hour_counts, (hours, items), 1.0)
        np.add.at(weekday_counts, (weekdays, items), 1.0)
        return cls(hour_counts, weekday_counts)

    @staticmethod
    def _lift(counts: np.ndarray, row: int, n_items: int) -> np.ndarray:
        counts = np.pad(counts, ((0, 0), (0, max(0, n_items - counts.shape[1]))))  # items added after fit
        here, overall = counts[row], counts.sum(axis=0)
        return (np.log((here + 1) / (here.sum() + n_items)) - np.log((overall + 1) / (overall.sum() + n_items))).astype(np.float32)

    def lift(self, hour: int | None, weekday: int | None, n_items: int) -> np.ndarray | None:
        """Standardised mean lift of the given hour and/or weekday, ``(n_items,) float32``; ``None`` if neither."""
        parts = []
        if hour is not None:
            parts.append(standardise(self._lift(self.hour_counts, hour // (24 // HOUR_BUCKETS), n_items)))
        if weekday is not None:
            parts.append(standardise(self._lift(self.weekday_counts, weekday, n_items)))
        return None if not parts else np.mean(parts, axis=0).astype(np.float32)
