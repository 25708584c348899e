"""The live system: a fitted recommender plus a durable store, updated by feedback at once.

The store is the source of truth for events, user profiles and the catalogue; the fitted
model is a cache of what was learned from it at the last (re)fit. Feedback is folded in on the
next request (the user's history is read from the store), new items are recommendable at once
(encoded and scored from text until the next fit), and a retrain swaps in a new model
atomically: in-flight requests finish on the old one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semrec.data.tables import Dataset
from semrec.errors import QueryError, SemrecError
from semrec.llm import LLMConfig, attach
from semrec.pipeline import Recommender
from semrec.pipeline.users import UserRecord
from semrec.serving.store import EventRecord, Store
from semrec.text import EmbeddingCache
from semrec.types import Query, Recommendation
from semrec.vocab import IdVocabulary

logger = logging.getLogger(__name__)


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


class StoreUsers:
    """History lookup from the durable store (the service's :class:`~semrec.pipeline.users.UserLookup`)."""

    def __init__(self, live: LiveRecommender) -> None:
        self.live = live

    def lookup(self, user_id: str, vocab: IdVocabulary) -> UserRecord | None:
        events = self.live.history(user_id)
        profile = self.live.store.get_user(user_id)
        if not events and profile is None:
            return None
        known = [(vocab.get(item), stamp) for item, stamp in events]
        known = [(p, t) for p, t in known if p is not None]
        history = np.asarray([p for p, _ in known], dtype=np.int64)
        times = np.asarray([t for _, t in known], dtype=np.int64)
        text = profile["text"] if profile else None
        return UserRecord(history, times, text, dict(profile["attributes"]) if profile else {})


class LiveRecommender:
    """Serve, take feedback, add items, forget users, retrain: the service's whole logic.

    Args:
        model: A fitted recommender (its artifact folder is rewritten on retrain and user deletion).
        store: The durable store. When it is empty it is seeded from ``model``: its items and every
            user's history (with timestamps) become items and events.
        artifact_dir: Where ``model`` lives; retrain and deletion write there atomically.
        cache_size: Users whose history is kept in memory (least recently used are evicted).
        embedding_cache: Used by retrain so unchanged item texts are not encoded again.
        shared: Other processes serve from the same store and artifact (``semrec serve --workers N``,
            or replicas on one PostgreSQL): no history is cached (every request reads the store,
            the truth), and before each request the store's ``generation`` counter is read; when
            another process changed the catalogue, deleted a user or swapped in a retrained model,
            this process reloads the artifact (if it changed) and syncs its catalogue first, so a
            write acknowledged by any process is seen by the next request to every process.
        llm: The optional generative stages (:mod:`semrec.llm`): every answer goes through them.
    """

    def __init__(
        self,
        model: Recommender,
        store: Store,
        artifact_dir: str | Path | None = None,
        cache_size: int = 100_000,
        embedding_cache: EmbeddingCache | None = None,
        shared: bool = False,
        llm: LLMConfig | None = None,
    ) -> None:
        self.model = model
        self.llm = attach(model, llm)
        """The optional LLM stages (:mod:`semrec.llm`), kept across retrains and reloads."""
        self.embedding_cache = embedding_cache
        self.store = store
        self.artifact_dir = None if artifact_dir is None else Path(artifact_dir)
        self.shared = shared
        self.cache_size = 0 if shared else cache_size
        self._histories: OrderedDict[str, list[tuple[str, int]]] = OrderedDict()
        self.users = StoreUsers(self)
        self._lock = threading.RLock()
        self._retrain_lock = threading.Lock()
        self._user_locks = [threading.Lock() for _ in range(64)]
        """Striped by user id: a user's writes (feedback, profile) and deletion are serialised, so a
        write acknowledged before a deletion was acknowledged does not survive it."""
        self.model_version = 1 + store.counter("model_version")
        self._generation = store.counter("generation")
        self._artifact_stamp = self._stamp()
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
        fields = model.catalogue.items.drop(columns=["text"], errors="ignore")
        rows = fields.to_dict(orient="records")
        self.store.put_items(
            (row["item_id"], {k: v for k, v in row.items() if k != "item_id" and v is not None}) for row in rows
        )
        records = []
        users, ids = model.users, model.catalogue.vocab.ids
        for position, user_id in enumerate(users.vocab.ids.tolist()):
            for item, stamp in zip(users.histories[position], users.times[position]):
                records.append(EventRecord(user_id, str(ids[item]), "import", 1.0, int(stamp)))
        for start in range(0, len(records), 20_000):
            self.store.add_events(records[start : start + 20_000])
        logger.info("seeded the store with %d items and %d events", len(fields), len(records))

    def _warm(self) -> None:
        """Load the most active users' histories into memory in one scan (no cold misses under load)."""
        events = self.store.events_frame()
        if events.empty:
            return
        events = events.sort_values(["timestamp"], kind="stable")
        for user_id, rows in events.groupby("user_id", sort=False):
            if len(self._histories) >= self.cache_size:
                break
            self._histories[user_id] = list(zip(rows["item_id"].tolist(), rows["timestamp"].astype(int).tolist()))

    def _sync_catalogue(self) -> None:
        """Items in the store but not in the model (added while serving) are added to the model."""
        known = set(self.model.catalogue.vocab.ids.tolist())
        stored = self.store.items_frame()
        for row in stored.to_dict(orient="records"):
            if row["item_id"] not in known:
                self.model.upsert_item(row["item_id"], row)
        stored_ids = set(stored["item_id"].tolist()) if len(stored) else set()
        for item_id in known - stored_ids:
            self.model.remove_item(item_id)

    # ------------------------------------------------------------------ other processes
    def _stamp(self) -> tuple[int, int] | None:
        """Identity of the artifact on disk (its manifest's inode and mtime: a save replaces it)."""
        if self.artifact_dir is None:
            return None
        try:
            stat = (self.artifact_dir / "manifest.json").stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def _changed(self) -> None:
        """Tell the other processes (and remember, so this one does not reload its own write)."""
        generation = self.store.bump("generation")
        with self._lock:
            if generation == self._generation + 1:
                self._generation, self._artifact_stamp = generation, self._stamp()

    def refresh(self) -> None:
        """Shared mode: catch up with what other processes changed (see ``shared``); cheap when
        nothing did (one indexed read of the store)."""
        if not self.shared:
            return
        generation = self.store.counter("generation")
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            stamp = self._stamp()
            if stamp != self._artifact_stamp and self.artifact_dir is not None:
                self.model = Recommender.load(self.artifact_dir, encoder=self.model.catalogue.encoder)
                self._artifact_stamp = stamp
            self._sync_catalogue()
            self.model_version = 1 + self.store.counter("model_version")
            self._generation = generation

    # ------------------------------------------------------------------ reads
    def history(self, user_id: str) -> list[tuple[str, int]]:
        """The user's ``(item_id, Unix seconds)`` events from the store, oldest first (cached; updated on feedback)."""
        with self._lock:
            cached = self._histories.get(user_id)
            if cached is not None:
                self._histories.move_to_end(user_id)
                return cached
        items = list(self.store.history(user_id))
        with self._lock:
            self._histories[user_id] = items
            while len(self._histories) > self.cache_size:
                self._histories.popitem(last=False)
        return items

    def recommend(self, query: Query) -> Recommendation:
        """The served pipeline (:meth:`Recommender.recommend`) with the store as the history lookup.

        A known user's history and profile (text, attributes) come from the store, so feedback
        counts at once. Never raises for an unknown user.

        Raises:
            QueryError: Empty text, unknown history item, unknown filter field.
        """
        self.refresh()
        model = self.model
        if self.llm is not None and model.generative is not self.llm:  # a retrain or reload swapped the model
            attach(model, self.llm.config, self.llm)
        return model.recommend(query, users=self.users)

    # ------------------------------------------------------------------ writes
    def add_feedback(self, records: Sequence[EventRecord]) -> int:
        """Store events durably, then fold them into the users' histories. Returns the new-event count.

        Raises:
            UnknownItemError: An event names an item not in the catalogue (nothing is stored).
        """
        self.refresh()
        model = self.model
        for record in records:
            position = model.catalogue.vocab.get(record.item_id)
            if position is None or position in model.catalogue.removed:
                raise UnknownItemError(f"unknown item id {record.item_id!r}; add it with PUT /items/{{id}} first")
        with self._locked({r.user_id for r in records}):
            inserted = self.store.add_events(records)
            with self._lock:
                for user_id in {r.user_id for r in records}:
                    self._histories.pop(user_id, None)
        return inserted

    def put_user(self, user_id: str, text: str | None, attributes: dict[str, Any]) -> None:
        with self._locked({user_id}):
            self.store.put_user(user_id, text, attributes)

    @contextlib.contextmanager
    def _locked(self, user_ids: set[str]):
        """Hold the stripes of ``user_ids`` (in stripe order: no deadlock between two writers)."""
        stripes = sorted({zlib.crc32(u.encode()) % len(self._user_locks) for u in user_ids})
        with contextlib.ExitStack() as stack:
            for stripe in stripes:
                stack.enter_context(self._user_locks[stripe])
            yield

    def delete_user(self, user_id: str) -> dict[str, Any]:
        """Forget a user everywhere: stored events and profile, cached history, the artifact's copy.

        Learned weights carry the user's aggregate influence until they are refitted: when the
        model knew the user, a background retrain starts at once (``erasure_pending_retrain``
        stays true until it has swapped in; :meth:`wait_for_erasure` waits for it).

        Idempotent: deleting a user again deletes nothing and starts no second retrain.

        Returns:
            ``{"deleted_events": n, "erasure_pending_retrain": bool}``; ``deleted_events == -1`` if the
            user was never known (nothing stored, nothing in the model, no erasure pending).
        """
        self.refresh()
        with self._locked({user_id}):
            return self._delete_user(user_id)

    def _delete_user(self, user_id: str) -> dict[str, Any]:
        deleted = self.store.delete_user(user_id)
        if deleted < 0 and user_id in self.erasure_pending:  # deleted before; its retrain is still running
            return {"deleted_events": 0, "erasure_pending_retrain": True}
        with self._lock:
            self._histories.pop(user_id, None)
            in_model = self.model.forget_user(user_id)
            if in_model:
                self._deletions += 1
                self.erasure_pending[user_id] = self._deletions
                if self.artifact_dir is not None:
                    self.model.save(self.artifact_dir)
        if in_model or deleted >= 0:
            self._changed()
        if in_model:
            self._erasure_done.clear()
            threading.Thread(target=self._erase, name="semrec-erasure", daemon=True).start()
        return {"deleted_events": max(deleted, 0) if in_model else deleted, "erasure_pending_retrain": in_model}

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
        self.refresh()
        with self._lock:
            self.store.put_items([(item_id, fields)])
            self.model.upsert_item(item_id, fields)
        self._changed()

    def delete_item(self, item_id: str) -> bool:
        self.refresh()
        with self._lock:
            found = self.store.delete_item(item_id)
            self.model.remove_item(item_id)
        self._changed()
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
            model = Recommender.fit(
                dataset, self.model.config, encoder=self.model.catalogue.encoder, cache=self.embedding_cache
            )
            if self.artifact_dir is not None:
                model.save(self.artifact_dir)
            version = 1 + self.store.bump("model_version")
            with self._lock:
                self.model = model
                self.model_version = version
                self.erasure_pending = {u: n for u, n in self.erasure_pending.items() if n > deletions_before}
                self._histories.clear()
            self._changed()
            return RetrainReport(
                len(model.users.vocab),
                model.n_items,
                len(events),
                time.perf_counter() - started,
                str(self.artifact_dir),
            )

    def stats(self) -> dict[str, Any]:
        """Cheap facts for /health (no table scans)."""
        self.refresh()
        return {
            "pid": os.getpid(),
            "model_version": self.model_version,
            "n_items": self.model.n_items,
            "scorer": self.model.scorer.name,
        }


__all__ = ["LiveRecommender", "QueryError", "RetrainReport", "UnknownItemError"]
