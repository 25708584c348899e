"""Durable storage of events, user profiles and items (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode with ``synchronous=FULL``: a call that returns has committed and synced,
so an acknowledged event survives a crash of the process (and of the machine). The same code runs
on PostgreSQL (``postgresql+psycopg://user:pass@host/db``) through SQLAlchemy Core.

Tables: ``events`` (append-only, optional client ``event_id`` for idempotent retries),
``users`` (profile text + attributes), ``items`` (catalogue fields as JSON).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import Insert

logger = logging.getLogger(__name__)

metadata = MetaData()
EVENTS = Table(
    "events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(200), unique=True, nullable=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("item_id", String(200), nullable=False),
    Column("event", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("context", Text, nullable=True),
)


def _latest_state_table(name: str, key: str, *columns: Column) -> Table:
    """A table of the latest state per id: ``key`` (primary key), ``columns``, ``updated_at`` (Unix seconds)."""
    key_column = Column(key, String(200), primary_key=True)
    return Table(name, metadata, key_column, *columns, Column("updated_at", BigInteger, nullable=False))


USERS = _latest_state_table(
    "users", "user_id", Column("text", Text, nullable=True), Column("attributes", Text, nullable=False)
)
ITEMS = _latest_state_table("items", "item_id", Column("fields", Text, nullable=False))
META = Table(
    "semrec_meta", metadata, Column("key", String(64), primary_key=True), Column("value", BigInteger, nullable=False)
)
"""Counters shared by every process on the store: ``generation`` (bumped by every change that a
process's in-memory model must follow: item put/delete, user deletion, a retrain swap) and
``model_version``."""


@dataclass(frozen=True)
class EventRecord:
    """One feedback event.

    Attributes:
        user_id, item_id: External ids.
        event: Type, e.g. ``view``, ``click``, ``purchase``, ``rating``.
        value: Strength (1.0 for implicit events, the rating for ratings).
        timestamp: Unix seconds.
        context: Request context (time, location, device ...), stored as JSON.
        event_id: Optional client id; a second event with the same id is ignored (idempotent retry).
    """

    user_id: str
    item_id: str
    event: str = "interaction"
    value: float = 1.0
    timestamp: int = 0
    context: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten with zeros, not left in free space
    cursor.close()


class Store:
    """Events, users and items behind one SQLAlchemy engine.

    Args:
        url: SQLAlchemy URL: ``sqlite:///path/to.db`` (default kind) or ``postgresql+psycopg://...``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
        metadata.create_all(self.engine)

    def _insert_ignoring_duplicates(self, table: Table) -> Insert:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table).on_conflict_do_nothing(index_elements=["event_id"])
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["event_id"])

    # ------------------------------------------------------------------ events
    def add_events(self, records: Iterable[EventRecord]) -> int:
        """Append events in one transaction; returns how many were new (duplicates by ``event_id`` skipped).

        Returns only after the transaction has committed (durable).
        """
        rows = [
            {
                "event_id": r.event_id,
                "user_id": r.user_id,
                "item_id": r.item_id,
                "event": r.event,
                "value": float(r.value),
                "timestamp": int(r.timestamp),
                "context": json.dumps(dict(r.context), ensure_ascii=False) if r.context else None,
            }
            for r in records
        ]
        if not rows:
            return 0
        statement = self._insert_ignoring_duplicates(EVENTS).returning(EVENTS.c.seq)
        with self.engine.begin() as conn:
            inserted = len(conn.execute(statement, rows).all())
        return inserted

    def history(self, user_id: str) -> list[tuple[str, int]]:
        """``[(item_id, timestamp)]`` of a user, oldest first (ties in arrival order)."""
        query = (
            select(EVENTS.c.item_id, EVENTS.c.timestamp)
            .where(EVENTS.c.user_id == user_id)
            .order_by(EVENTS.c.timestamp, EVENTS.c.seq)
        )
        with self.engine.connect() as conn:
            return [(row.item_id, int(row.timestamp)) for row in conn.execute(query)]

    def count_events(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(EVENTS)).scalar_one())

    def events_frame(self) -> pd.DataFrame:
        """Every event as an interaction table (``user_id``, ``item_id``, ``value``, ``timestamp``, ``event``)."""
        query = select(EVENTS.c.user_id, EVENTS.c.item_id, EVENTS.c.value, EVENTS.c.timestamp, EVENTS.c.event)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(EVENTS.c.seq)).all()
        return pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp", "event"])

    def export_events(self, user_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Events as dicts (all, or one user's), in arrival order."""
        query = select(EVENTS).order_by(EVENTS.c.seq)
        if user_id is not None:
            query = query.where(EVENTS.c.user_id == user_id)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                record = dict(row._mapping)
                record["context"] = json.loads(record["context"]) if record["context"] else {}
                yield record

    # ------------------------------------------------------------------ users
    def put_user(self, user_id: str, text: str | None, attributes: Mapping[str, Any]) -> None:
        """Create or replace a user's profile."""
        row = {
            "user_id": user_id,
            "text": text,
            "attributes": json.dumps(dict(attributes), ensure_ascii=False),
            "updated_at": int(time.time()),
        }
        with self.engine.begin() as conn:
            conn.execute(delete(USERS).where(USERS.c.user_id == user_id))
            conn.execute(USERS.insert(), row)

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        """``{"user_id", "text", "attributes", "n_events"}`` or ``None`` if neither profile nor events exist."""
        with self.engine.connect() as conn:
            row = conn.execute(select(USERS).where(USERS.c.user_id == user_id)).first()
            n_events = int(conn.execute(select(func.count()).where(EVENTS.c.user_id == user_id)).scalar_one())
        if row is None and n_events == 0:
            return None
        return {
            "user_id": user_id,
            "text": row.text if row else None,
            "attributes": json.loads(row.attributes) if row else {},
            "n_events": n_events,
        }

    def delete_user(self, user_id: str) -> int:
        """Forget a user: profile and every event, in one transaction, then off the disk.

        SQLite overwrites deleted rows (``secure_delete``) and the write-ahead log, which still
        holds the pages as they were written, is checkpointed into the database and truncated to
        zero bytes (:meth:`scrub`). Returns events deleted (-1: nothing known)."""
        with self.engine.begin() as conn:
            n_events = conn.execute(delete(EVENTS).where(EVENTS.c.user_id == user_id)).rowcount
            n_profiles = conn.execute(delete(USERS).where(USERS.c.user_id == user_id)).rowcount
        if n_events or n_profiles:
            self.scrub()
        return n_events if (n_events or n_profiles) else -1

    def scrub(self, attempts: int = 50) -> bool:
        """Push deleted rows off the disk as far as the database allows.

        SQLite: move the write-ahead log into the database and truncate it
        (``wal_checkpoint(TRUNCATE)``), so rows deleted under ``secure_delete`` leave no copy in
        the ``-wal`` file; retried while readers hold old snapshots; ``False`` if it never
        completed. PostgreSQL: ``VACUUM events, users`` prunes the dead row versions, so no query
        (and no replica built from now on) can read them and their space is reused; the bytes of
        a pruned row stay in the server's data files until overwritten, and in its WAL segments
        until they are recycled, which only ``VACUUM FULL`` (an exclusive table rewrite) and a
        checkpoint shorten: that is the server operator's to schedule."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM events, users")
            return True
        if self.engine.dialect.name != "sqlite":
            return True
        for _ in range(attempts):
            with self.engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if busy is not None and busy[0] == 0:
                return True
            time.sleep(0.02)
        logger.warning("SQLite WAL checkpoint stayed busy: the -wal file may still hold deleted rows until the next")
        return False

    # ------------------------------------------------------------------ items
    def put_items(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Create or replace items: ``(item_id, fields)`` pairs, one transaction."""
        now = int(time.time())
        rows = [
            {"item_id": i, "fields": json.dumps(dict(f), ensure_ascii=False, default=str), "updated_at": now}
            for i, f in items
        ]
        if not rows:
            return
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                conn.execute(delete(ITEMS).where(ITEMS.c.item_id.in_([r["item_id"] for r in chunk])))
                conn.execute(ITEMS.insert(), chunk)

    def get_item(self, item_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ITEMS).where(ITEMS.c.item_id == item_id)).first()
        return None if row is None else {"item_id": item_id, **json.loads(row.fields)}

    def delete_item(self, item_id: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(ITEMS).where(ITEMS.c.item_id == item_id)).rowcount > 0

    def items_frame(self) -> pd.DataFrame:
        """The catalogue: ``item_id`` plus every field, ordered by ``item_id``."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(ITEMS.c.item_id, ITEMS.c.fields).order_by(ITEMS.c.item_id)).all()
        return pd.DataFrame([{"item_id": r.item_id, **json.loads(r.fields)} for r in rows])

    # ------------------------------------------------------------------ shared counters
    def counter(self, key: str) -> int:
        """A :data:`META` counter (0 before its first :meth:`bump`)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(META.c.value).where(META.c.key == key)).scalar()
        return int(value or 0)

    def bump(self, key: str) -> int:
        """Add one to a :data:`META` counter atomically; returns the new value."""
        with self.engine.begin() as conn:
            updated = conn.execute(META.update().where(META.c.key == key).values(value=META.c.value + 1)).rowcount
            if not updated:
                try:
                    with conn.begin_nested():
                        conn.execute(META.insert().values(key=key, value=1))
                except IntegrityError:  # another process inserted it first
                    conn.execute(META.update().where(META.c.key == key).values(value=META.c.value + 1))
            return int(conn.execute(select(META.c.value).where(META.c.key == key)).scalar_one())

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ITEMS)).scalar_one())
