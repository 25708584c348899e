"""The live system: a fitted recommender plus a durable store, updated by feedback at once.

The store is the source of truth for events, user profiles and the catalogue; the fitted
model is a cache of what was learned from it at the last (re)fit. Feedback is folded in on the
next request (the user's history is read from the store), new items are recommendable at once
(encoded and scored from text until the next fit), and a retrain swaps in a new model
atomically: in-flight requests finish on the old one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semrec.data.tables import Dataset
from semrec.encoders import EmbeddingCache
from semrec.errors import QueryError, SemrecError
from semrec.recommender import Query, Recommendation, Recommender
from semrec.store import EventRecord, Store

logger = logging.getLogger(__name__)


def describe_user(text: str | None, attributes: dict[str, Any]) -> str:
    """A user's self-description followed by their attributes as text ("age: 24. occupation: nurse.")."""
    parts = [" ".join(text.split())] if text and text.strip() else []
    parts += [f"{name}: {value}." for name, value in attributes.items() if value not in (None, "")]
    return " ".join(parts)


class UnknownItemError(SemrecError, ValueError):
    """Feedback names an item that is not in the catalogue."""


@dataclass
class RetrainReport:
    """What a retrain did."""

    n_users: int
    n_items: int
    n_events: int
    seconds: float
    directory: str


class LiveRecommender:
    """Serve, take feedback, add items, forget users, retrain: the service's whole logic.

    Args:
        model: A fitted recommender (its artifact folder is rewritten on retrain and user deletion).
        store: The durable store. When it is empty it is seeded from ``model``: its items and every
            user's history (with timestamps) become items and events.
        artifact_dir: Where ``model`` lives; retrain and deletion write there atomically.
        cache_size: Users whose history is kept in memory (least recently used are evicted).
        embedding_cache: Used by retrain so unchanged item texts are not encoded again.
    """

    def __init__(self, model: Recommender, store: Store, artifact_dir: str | Path | None = None,
                 cache_size: int = 100_000, embedding_cache: EmbeddingCache | None = None) -> None:  # fmt: skip
        self.model = model
        self.embedding_cache = embedding_cache
        self.store = store
        self.artifact_dir = None if artifact_dir is None else Path(artifact_dir)
        self.cache_size = cache_size
        self._histories: OrderedDict[str, list[str]] = OrderedDict()
        self._positions: dict[str, tuple[int, np.ndarray]] = {}
        self._lock = threading.RLock()
        self._retrain_lock = threading.Lock()
        self.model_version = 1
        self.erasure_pending: dict[str, int] = {}
        """Deleted users whose influence is still in the learned weights -> deletion sequence number."""
        self._deletions = 0
        self._erasure_done = threading.Event()
        self._erasure_done.set()
        if store.count_items() == 0:
            self._seed()
        self._sync_catalogue()
        self._warm()

    # ------------------------------------------------------------------ setup
    def _seed(self) -> None:
        model = self.model
        fields = model.items.drop(columns=["text"], errors="ignore")
        self.store.put_items((row["item_id"], {k: v for k, v in row.items() if k != "item_id" and v is not None})
                             for row in fields.to_dict(orient="records"))  # fmt: skip
        records = []
        for position, user_id in enumerate(model.user_vocab.ids.tolist()):
            for item, stamp in zip(model.histories[position], model.history_times[position]):
                records.append(EventRecord(user_id, str(model.item_vocab.ids[item]), "import", 1.0, int(stamp)))
        for start in range(0, len(records), 20_000):
            self.store.add_events(records[start : start + 20_000])
        logger.info("seeded the store with %d items and %d events", len(fields), len(records))

    def _warm(self) -> None:
        """Load the most active users' histories into memory in one scan (no cold misses under load)."""
        events = self.store.events_frame()
        if events.empty:
            return
        events = events.sort_values(["timestamp"], kind="stable")
        for user_id, items in events.groupby("user_id", sort=False)["item_id"]:
            if len(self._histories) >= self.cache_size:
                break
            self._histories[user_id] = items.tolist()

    def _sync_catalogue(self) -> None:
        """Items in the store but not in the model (added while serving) are added to the model."""
        known = set(self.model.item_vocab.ids.tolist())
        stored = self.store.items_frame()
        for row in stored.to_dict(orient="records"):
            if row["item_id"] not in known:
                self.model.upsert_item(row["item_id"], row)
        stored_ids = set(stored["item_id"].tolist()) if len(stored) else set()
        for item_id in known - stored_ids:
            self.model.remove_item(item_id)

    # ------------------------------------------------------------------ reads
    def history(self, user_id: str) -> list[str]:
        """The user's item ids from the store, oldest first (cached; updated on feedback)."""
        with self._lock:
            cached = self._histories.get(user_id)
            if cached is not None:
                self._histories.move_to_end(user_id)
                return cached
        items = [item for item, _ in self.store.history(user_id)]
        with self._lock:
            self._histories[user_id] = items
            while len(self._histories) > self.cache_size:
                self._histories.popitem(last=False)
        return items

    def recommend(self, query: Query) -> Recommendation:
        """:meth:`Recommender.recommend` with the user's live history and profile text.

        A known user's history comes from the store (so feedback counts at once); a user with no
        history but a stored self-description is answered from that text; otherwise the usual
        fallback chain (text -> popular) applies. Never raises for an unknown user.

        Raises:
            QueryError: Empty text, unknown history item, unknown filter field.
        """
        model, version = self.model, self.model_version  # one model for the whole request
        history = np.zeros(0, dtype=np.int64)
        text = query.text
        notes: list[str] = []
        attributes = dict(query.attributes)
        if query.user_id is not None:
            history = self._history_positions(query.user_id, model, version)
            if len(history) < model.config.handover.ramp_end:  # a new user: profile attributes/text help
                profile = self.store.get_user(query.user_id)
                if profile:
                    attributes = {**profile["attributes"], **attributes}
                if not len(history) and text is None:
                    has_text = profile and profile["text"] and profile["text"].strip()
                    described = describe_user(profile["text"], profile["attributes"]) if has_text else ""
                    if described:
                        text = described
                        notes.append("answered from the user's profile text")
                    elif profile is None:
                        notes.append(f"user {query.user_id!r} is unknown")
        live = query.model_copy(update={"user_id": None, "text": text, "attributes": attributes})
        return model.recommend_for_history(history, live, notes)

    def _history_positions(self, user_id: str, model: Recommender, version: int) -> np.ndarray:
        """The user's live history as item positions of ``model`` (cached per model version)."""
        cached = self._positions.get(user_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        positions = np.asarray([p for p in map(model.item_vocab.get, self.history(user_id)) if p is not None],
                               dtype=np.int64)  # fmt: skip
        with self._lock:
            self._positions[user_id] = (version, positions)
            if len(self._positions) > self.cache_size:
                self._positions.pop(next(iter(self._positions)))
        return positions

    # ------------------------------------------------------------------ writes
    def add_feedback(self, records: Sequence[EventRecord]) -> int:
        """Store events durably, then fold them into the users' histories. Returns the new-event count.

        Raises:
            UnknownItemError: An event names an item not in the catalogue (nothing is stored).
        """
        model = self.model
        for record in records:
            if record.item_id not in model.item_vocab or model.item_vocab.get(record.item_id) in model.removed:
                raise UnknownItemError(f"unknown item id {record.item_id!r}; add it with PUT /items/{{id}} first")
        inserted = self.store.add_events(records)
        with self._lock:
            for user_id in {r.user_id for r in records}:
                self._histories.pop(user_id, None)
                self._positions.pop(user_id, None)
        return inserted

    def put_user(self, user_id: str, text: str | None, attributes: dict[str, Any]) -> None:
        self.store.put_user(user_id, text, attributes)

    def delete_user(self, user_id: str) -> dict[str, Any]:
        """Forget a user everywhere: stored events and profile, cached history, the artifact's copy.

        Learned weights carry the user's aggregate influence until they are refitted: when the
        model knew the user, a background retrain starts at once (``erasure_pending_retrain``
        stays true until it has swapped in; :meth:`wait_for_erasure` waits for it).

        Returns:
            ``{"deleted_events": n, "erasure_pending_retrain": bool}``; ``deleted_events == -1`` if unknown.
        """
        deleted = self.store.delete_user(user_id)
        with self._lock:
            self._histories.pop(user_id, None)
            self._positions.pop(user_id, None)
            in_model = self.model.forget_user(user_id)
            if in_model:
                self._deletions += 1
                self.erasure_pending[user_id] = self._deletions
                if self.artifact_dir is not None:
                    self.model.save(self.artifact_dir)
        if in_model:
            self._erasure_done.clear()
            threading.Thread(target=self._erase, name="semrec-erasure", daemon=True).start()
        return {"deleted_events": deleted, "erasure_pending_retrain": in_model}

    def _erase(self) -> None:
        try:
            self.retrain()
        except Exception:  # the next delete or scheduled retrain tries again; serving continues
            logger.exception("erasure retrain failed")
        finally:
            if not self.erasure_pending:
                self._erasure_done.set()

    def wait_for_erasure(self, timeout: float | None = None) -> bool:
        """Block until every deleted user's influence has been refitted away; ``False`` on timeout."""
        return self._erasure_done.wait(timeout)

    def put_item(self, item_id: str, fields: dict[str, Any]) -> None:
        """Add or update an item: stored, encoded and recommendable at once."""
        with self._lock:
            self.store.put_items([(item_id, fields)])
            self.model.upsert_item(item_id, fields)
            self._positions.clear()  # a new item can make earlier-unknown history ids resolvable

    def delete_item(self, item_id: str) -> bool:
        with self._lock:
            found = self.store.delete_item(item_id)
            self.model.remove_item(item_id)
        return found

    # ------------------------------------------------------------------ retrain
    def retrain(self) -> RetrainReport:
        """Refit from the store (same config) and swap the new model in atomically.

        Raises:
            SemrecError: The store holds no usable events.
        """
        with self._retrain_lock:
            started = time.perf_counter()
            with self._lock:
                deletions_before = self._deletions  # deletions up to here are absent from what we read next
            items = self.store.items_frame()
            events = self.store.events_frame()
            events = events[events["item_id"].isin(set(items["item_id"]))]
            if events.empty:
                raise SemrecError("nothing to retrain on: the store has no events on catalogue items")
            dataset = Dataset(items, events, None, "store")
            model = Recommender.fit(dataset, self.model.config, encoder=self.model.encoder, cache=self.embedding_cache)
            if self.artifact_dir is not None:
                model.save(self.artifact_dir)
            with self._lock:
                self.model = model
                self.model_version += 1
                self.erasure_pending = {u: n for u, n in self.erasure_pending.items() if n > deletions_before}
                self._histories.clear()
                self._positions.clear()
            return RetrainReport(len(model.user_vocab), model.n_items, len(events), time.perf_counter() - started,
                                 str(self.artifact_dir))  # fmt: skip

    def stats(self) -> dict[str, Any]:
        """Cheap facts for /health (no table scans)."""
        return {"model_version": self.model_version, "n_items": self.model.n_items, "scorer": self.model.scorer.name}


__all__ = ["LiveRecommender", "QueryError", "RetrainReport", "UnknownItemError"]
