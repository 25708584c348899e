"""Typed tables for items, users and interactions, and validating loaders.

Three tables make a :class:`Dataset`:

* **items**: ``item_id`` (str, unique) plus any text fields and attributes (``title``,
  ``genres`` as ``"A|B"``, ``overview`` ...).
* **users** (optional): ``user_id`` (str, unique) plus attributes and optional text.
* **interactions**: ``user_id`` (str), ``item_id`` (str), ``value`` (float64; 1.0 when the
  file has none), ``timestamp`` (int64 Unix seconds; the file order when the file has none),
  ``event`` (str; ``"interaction"`` when the file has none).

Loaders read CSV, TSV, Parquet and JSON Lines. A *column mapping* ``{semrec field: file
column}`` adapts any file layout. Every problem raises :class:`~semrec.errors.DataFormatError`
naming the file, the line (CSV/TSV/JSONL; the header is line 1) or row (Parquet) and the
column. A loader either returns a fully validated table or raises: nothing is half-loaded.
File reading and column parsing live in :mod:`semrec.data.readers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from semrec.data.readers import (
    attribute_columns,
    check_unique,
    float_column,
    id_column,
    is_missing,
    read_table,
    required_column,
    resolve_columns,
    timestamp_column,
)
from semrec.errors import DataFormatError

LIST_SEPARATOR = "|"
"""Separator of multi-valued attributes in one cell, e.g. ``genres = "Comedy|Drama"``."""

OnDuplicate = Literal["error", "first"]
"""A repeated item or user id: ``"error"`` (the default: a :class:`DataFormatError` naming both
lines) or ``"first"`` (keep the first row, drop the later ones, count them)."""
OnUnknown = Literal["error", "skip"]
"""An interaction naming an item or user missing from its table: ``"error"`` (the default) or
``"skip"`` (drop the row, count it)."""


@dataclass
class LoadReport:
    """What the lenient options dropped while loading (:data:`OnDuplicate`, :data:`OnUnknown`)."""

    counts: dict[str, int] = field(default_factory=dict)
    """``{"<file name>: <what>": rows}``, e.g. ``{"BX-Books.csv: duplicate item ids kept first": 1}``."""
    notes: list[str] = field(default_factory=list)
    """Other things loading decided for the user, e.g. a ``rating`` column read as ``value``."""

    def add(self, path: str | Path, what: str, n: int) -> None:
        if n:
            key = f"{Path(path).name}: {what}"
            self.counts[key] = self.counts.get(key, 0) + int(n)

    def lines(self) -> list[str]:
        return [f"{key}: {n} rows dropped" for key, n in self.counts.items()] + list(self.notes)


FIELD_ALIASES = {"value": ("rating", "ratings", "score"), "timestamp": ("time", "datetime", "date", "ts")}
"""Column names read as an optional interaction field when the file has no column of the field's
own name and no mapping names one (each such reading is a note)."""


def _aliased(raw, columns: Mapping[str, str] | None, report: LoadReport | None) -> dict[str, str]:
    """``columns`` plus ``field -> alias column`` for every unmapped field whose alias is in the file."""
    out = dict(columns or {})
    for name, aliases in FIELD_ALIASES.items():
        if name in out or name in raw.frame.columns:
            continue
        found = [c for c in raw.frame.columns if str(c).strip().lower() in aliases]
        if found:
            out[name] = found[0]
            if report is not None:
                report.notes.append(
                    f"{Path(raw.path).name}: column '{found[0]}' read as {name} (map it explicitly to silence this)"
                )
    return out


def load_items(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    on_duplicate: OnDuplicate = "error",
    report: LoadReport | None = None,
    **read_options,
) -> pd.DataFrame:
    """Load an item table.

    Args:
        path: CSV / TSV / Parquet / JSONL file.
        columns: ``{semrec field: file column}``; ``item_id`` is required. Other columns are kept
            as text fields / attributes under their own (or mapped) names.
        on_duplicate: A repeated id (after stripping white space): error, or keep the first row.
        report: Collects the count of rows ``on_duplicate="first"`` dropped.
        **read_options: ``sep``, ``encoding`` and ``escapechar``, passed to :func:`read_table`.

    Returns:
        DataFrame with ``item_id`` (str, unique) first, then every other column.

    Raises:
        DataFormatError: Missing ``item_id`` column, an empty id, a duplicate id (naming both
            lines), or no rows at all (an empty catalogue cannot be fitted or served).
    """
    table = _load_entity_table(path, columns, "item", on_duplicate, report, **read_options)
    if table.empty:
        raise DataFormatError("no items: the file has a header but no rows", path=path)
    return table


def load_users(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    on_duplicate: OnDuplicate = "error",
    report: LoadReport | None = None,
    **read_options,
) -> pd.DataFrame:
    """Load a user table: ``user_id`` (str, unique) first, then attributes and optional text.

    Options as :func:`load_items`.

    Raises:
        DataFormatError: Missing ``user_id`` column, an empty id, or a duplicate id.
    """
    return _load_entity_table(path, columns, "user", on_duplicate, report, **read_options)


def _load_entity_table(
    path: str | Path,
    columns: Mapping[str, str] | None,
    entity: str,
    on_duplicate: OnDuplicate = "error",
    report: LoadReport | None = None,
    **read_options,
) -> pd.DataFrame:
    """An item or user table: ``<entity>_id`` (str, unique) first, then every other column.

    Raises:
        DataFormatError: Missing ``<entity>_id`` column, an empty id, or a duplicate id (naming both lines).
    """
    key = f"{entity}_id"
    raw = read_table(path, **read_options)
    resolved = resolve_columns(raw, columns, (key,), ())
    key_column = required_column(resolved, key)
    ids = id_column(raw, key_column)
    if on_duplicate not in ("error", "first"):
        raise ValueError(f"on_duplicate must be 'error' or 'first', got {on_duplicate!r}")
    keep = check_unique(raw, ids, key_column, entity, keep_first=on_duplicate == "first")
    frame = pd.DataFrame({key: ids.astype(str), **attribute_columns(raw, resolved, {key})})
    if not keep.all():
        if report is not None:
            report.add(raw.path, f"duplicate {entity} ids (first kept)", int((~keep).sum()))
        frame = frame[keep]
    return frame.reset_index(drop=True)


def load_interactions(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    default_event: str = "interaction",
    unknown: OnUnknown = "error",
    report: LoadReport | None = None,
    **read_options,
) -> pd.DataFrame:
    """Load an interaction table (ratings, clicks, purchases).

    Args:
        path: CSV / TSV / Parquet / JSONL file.
        columns: ``{semrec field: file column}`` for ``user_id``, ``item_id`` (required),
            ``value``, ``timestamp``, ``event`` (optional; a mapped optional field must exist).
        items: When given, every ``item_id`` must be one of ``items.item_id``.
        users: When given, every ``user_id`` must be one of ``users.user_id``.
        default_event: ``event`` of every row when the file has no event column.
        unknown: A row naming an item (user) missing from ``items`` (``users``): error, or skip it.
        report: Collects the count of rows ``unknown="skip"`` dropped.
        **read_options: ``sep``, ``encoding`` and ``escapechar``, passed to :func:`read_table`.

    Returns:
        DataFrame with columns ``user_id`` (str), ``item_id`` (str), ``value`` (float64),
        ``timestamp`` (int64, Unix seconds; the file line when absent), ``event`` (str).

    Raises:
        DataFormatError: A missing column, an unparsable number or timestamp, or an id not
            found in ``items`` / ``users``; the message names file, line and column.
    """
    raw = read_table(path, **read_options)
    columns = _aliased(raw, columns, report)
    resolved = resolve_columns(raw, columns, ("user_id", "item_id"), ("value", "timestamp", "event"))
    user_column, item_column = required_column(resolved, "user_id"), required_column(resolved, "item_id")
    user_ids = id_column(raw, user_column)
    item_ids = id_column(raw, item_column)
    n = len(raw.frame)
    values = float_column(raw, resolved["value"]) if resolved["value"] else np.ones(n)
    timestamps = timestamp_column(raw, resolved["timestamp"]) if resolved["timestamp"] else raw.lines.copy()
    if resolved["event"]:
        events = [default_event if is_missing(e) else str(e).strip() for e in raw.frame[resolved["event"]]]
    else:
        events = [default_event] * n
    if unknown not in ("error", "skip"):
        raise ValueError(f"unknown must be 'error' or 'skip', got {unknown!r}")
    keep = np.ones(n, dtype=bool)
    for known, ids, name, kind in ((items, item_ids, "item_id", "item"), (users, user_ids, "user_id", "user")):
        if known is None:
            continue
        valid = set(known[name].tolist())
        missing = np.fromiter((value not in valid for value in ids.tolist()), dtype=bool, count=n)
        if missing.any() and unknown == "skip":
            if report is not None:
                report.add(raw.path, f"unknown {kind} ids (skipped)", int((missing & keep).sum()))
            keep &= ~missing
        elif missing.any():
            rows = np.flatnonzero(missing)
            others = f" ({len(rows) - 1} more rows name unknown {kind}s)" if len(rows) > 1 else ""
            raise raw.error(
                f"unknown {kind} id {ids[rows[0]]!r}: not in the {kind} table{others}; "
                "pass unknown='skip' (--unknown skip) to drop such rows",
                int(rows[0]),
                resolved[name],
            )
    frame = pd.DataFrame(
        {
            "user_id": user_ids.astype(str),
            "item_id": item_ids.astype(str),
            "value": values,
            "timestamp": timestamps.astype(np.int64),
            "event": np.asarray(events, dtype=object),
        }
    )
    return frame if keep.all() else frame[keep].reset_index(drop=True)


@dataclass(frozen=True)
class Dataset:
    """Items, optional users, and interactions that reference them.

    Attributes:
        items: See module docstring; ``item_id`` unique.
        interactions: See module docstring; every ``item_id`` is in ``items``.
        users: ``None`` when the data has no user table.
        name: A short label used in reports.
    """

    items: pd.DataFrame
    interactions: pd.DataFrame
    users: pd.DataFrame | None = None
    name: str = "custom"
    notes: tuple[str, ...] = ()
    """What loading dropped under lenient options (:class:`LoadReport` lines), to show the user."""
    holdout: str | None = None
    """How recommendations from these interactions will be judged: ``"temporal"`` (what comes next)
    or ``"random"`` (what is missing, order irrelevant); ``None``: temporal. Fitting carves its
    validation slice this way (:mod:`semrec.scorers.tuning`; ``semrec fit --holdout``)."""

    @classmethod
    def from_files(
        cls,
        items: str | Path,
        interactions: str | Path,
        users: str | Path | None = None,
        *,
        item_columns: Mapping[str, str] | None = None,
        interaction_columns: Mapping[str, str] | None = None,
        user_columns: Mapping[str, str] | None = None,
        name: str = "custom",
        encoding: str = "utf-8",
        sep: str | None = None,
        escapechar: str | None = None,
        on_duplicate: OnDuplicate = "error",
        unknown: OnUnknown = "error",
    ) -> Dataset:
        """Load and cross-validate the three tables (interactions must name known items and users).

        ``on_duplicate`` applies to the item and user tables, ``unknown`` to interactions naming
        ids those tables lack; what they drop is counted in :attr:`notes`.

        Raises:
            DataFormatError: As :func:`load_items`, :func:`load_users`, :func:`load_interactions`.
        """
        report = LoadReport()
        read: dict[str, Any] = {"encoding": encoding, "sep": sep, "escapechar": escapechar}
        item_table = load_items(items, item_columns, on_duplicate=on_duplicate, report=report, **read)
        user_table = None
        if users is not None:
            user_table = load_users(users, user_columns, on_duplicate=on_duplicate, report=report, **read)
        interaction_table = load_interactions(
            interactions,
            interaction_columns,
            items=item_table,
            users=user_table,
            unknown=unknown,
            report=report,
            **read,
        )
        if interaction_table.empty:
            raise DataFormatError("no interactions: the file has a header but no rows", path=interactions)
        return cls(item_table, interaction_table, user_table, name, tuple(report.lines()))

    @classmethod
    def text_only(cls, items: pd.DataFrame, name: str = "catalogue") -> Dataset:
        """A catalogue without behaviour yet: zero interactions (text queries and content similarity only)."""
        empty = pd.DataFrame(
            {
                "user_id": pd.Series([], dtype=object),
                "item_id": pd.Series([], dtype=object),
                "value": pd.Series([], dtype=np.float64),
                "timestamp": pd.Series([], dtype=np.int64),
                "event": pd.Series([], dtype=object),
            }
        )
        return cls(items, empty, None, name)

    @classmethod
    def load_dir(cls, directory: str | Path, name: str | None = None) -> Dataset:
        """Load ``items.csv``, ``interactions.csv`` and (if present) ``users.csv`` from a folder."""
        directory = Path(directory)
        users = directory / "users.csv"
        return cls.from_files(
            directory / "items.csv",
            directory / "interactions.csv",
            users if users.exists() else None,
            name=name or directory.name,
        )

    def save_dir(self, directory: str | Path) -> None:
        """Write the tables as ``items.csv``, ``interactions.csv``, ``users.csv`` (UTF-8)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.items.to_csv(directory / "items.csv", index=False)
        self.interactions.to_csv(directory / "interactions.csv", index=False)
        if self.users is not None:
            self.users.to_csv(directory / "users.csv", index=False)


def split_list(value: object) -> list[str]:
    """Split a multi-valued cell (``"Comedy|Drama"``) into its values; ``[]`` when missing."""
    if is_missing(value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(LIST_SEPARATOR) if part.strip()]
