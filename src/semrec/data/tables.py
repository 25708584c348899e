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
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from semrec.errors import DataFormatError

LIST_SEPARATOR = "|"
"""Separator of multi-valued attributes in one cell, e.g. ``genres = "Comedy|Drama"``."""

_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True)
class RawTable:
    """A file read as strings, with the source line of every row.

    Attributes:
        path: The file read.
        frame: One column per file column; cells are ``str``, numbers (JSONL/Parquet) or ``None``.
        lines: ``(n_rows,) int64``; the 1-based line (text files) or row (Parquet) of each row.
        row_word: ``"line"`` or ``"row"``, for messages.
    """

    path: Path
    frame: pd.DataFrame
    lines: np.ndarray
    row_word: str

    def error(self, message: str, row: int | None = None, column: str | None = None) -> DataFormatError:
        """A :class:`DataFormatError` located at positional ``row`` (0-based) and ``column``."""
        line = None if row is None else int(self.lines[row])
        return DataFormatError(message, path=self.path, line=line, column=column, row_word=self.row_word)


def _decode_error(path: Path, encoding: str) -> DataFormatError:
    """Locate the first line that does not decode, for the message."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return DataFormatError(
                    f"not valid {encoding} text (byte {raw[exc.start:exc.start + 1]!r} at character {exc.start + 1}); "
                    "pass the file's encoding (--encoding latin-1, cp1252 ...)",
                    path=path, line=number,
                )  # fmt: skip
    return DataFormatError(f"not valid {encoding} text; pass the file's encoding", path=path)


def read_table(path: str | Path, *, sep: str | None = None, encoding: str = "utf-8") -> RawTable:
    """Read a CSV / TSV / Parquet / JSON Lines file without interpreting values.

    The format follows the suffix: ``.csv`` (comma), ``.tsv``/``.tab``/``.txt`` (tab),
    ``.parquet``/``.pq``, ``.jsonl``/``.ndjson``. ``sep`` overrides the delimiter of text files.

    Raises:
        DataFormatError: The file is missing, empty, not decodable with ``encoding``, has a
            row whose field count differs from the header, or a JSONL line that is not a JSON object.
    """
    path = Path(path)
    if path.is_dir():
        raise DataFormatError("is a folder, not a file", path=path)
    if not path.is_file():
        raise DataFormatError("file not found", path=path)
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a byte-order mark (Excel's UTF-8) is not part of the first column name
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return _read_parquet(path)
    if suffix in _JSONL_SUFFIXES:
        return _read_jsonl(path, encoding)
    if suffix in _TEXT_SUFFIXES or sep is not None:
        return _read_delimited(path, sep or _TEXT_SUFFIXES[suffix], encoding)
    raise DataFormatError(
        f"unsupported file type '{suffix}'; use .csv, .tsv, .parquet or .jsonl", path=path
    )


def _read_delimited(path: Path, sep: str, encoding: str) -> RawTable:
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with path.open(newline="", encoding=encoding) as handle:
            reader = csv.reader(handle, delimiter=sep)
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise DataFormatError("file is empty: expected a header line", path=path, line=1)
            header = [h.strip() for h in header]
            seen: set[str] = set()
            for name in header:
                if name in seen:
                    raise DataFormatError(f"duplicate column name '{name}' in header", path=path, line=1)
                seen.add(name)
            start = reader.line_num + 1
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    start = reader.line_num + 1
                    continue
                if len(row) != len(header):
                    raise DataFormatError(
                        f"expected {len(header)} fields (as in the header), found {len(row)}",
                        path=path,
                        line=start,
                    )
                rows.append(row)
                lines.append(start)
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding) from exc
    except csv.Error as exc:
        raise DataFormatError(f"malformed {'TSV' if sep == chr(9) else 'CSV'}: {exc}", path=path) from exc
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return RawTable(path, frame, np.asarray(lines, dtype=np.int64), "line")


def _read_jsonl(path: Path, encoding: str) -> RawTable:
    records: list[dict] = []
    lines: list[int] = []
    try:
        with path.open(encoding=encoding) as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"invalid JSON: {exc.msg}", path=path, line=number) from exc
                if not isinstance(record, dict):
                    raise DataFormatError("expected a JSON object per line", path=path, line=number)
                records.append(record)
                lines.append(number)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding) from exc
    if not records:
        raise DataFormatError("file is empty: expected one JSON object per line", path=path)
    frame = pd.DataFrame.from_records(records).astype(object)
    frame = frame.where(frame.notna(), None)
    return RawTable(path, frame, np.asarray(lines, dtype=np.int64), "line")


def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas().astype(object)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataFormatError(f"cannot read Parquet: {exc}", path=path) from exc
    frame = frame.where(frame.notna(), None)
    return RawTable(path, frame, np.arange(1, len(frame) + 1, dtype=np.int64), "row")


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _resolve_columns(
    raw: RawTable, columns: Mapping[str, str] | None, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, str | None]:
    """Map each semrec field to its file column; ``None`` for an optional field the file lacks."""
    columns = dict(columns or {})
    known = set(required) | set(optional)
    resolved: dict[str, str | None] = {}
    for field in (*required, *optional):
        source = columns.get(field, field)
        if source in raw.frame.columns:
            resolved[field] = source
        elif field in required or field in columns:
            mapped = f" (mapped to semrec field '{field}')" if field in columns else ""
            raise DataFormatError(
                f"missing required column '{source}'{mapped}; the file has columns: "
                f"{', '.join(map(str, raw.frame.columns))}",
                path=raw.path,
                line=1 if raw.row_word == "line" and raw.path.suffix.lower() not in _JSONL_SUFFIXES else None,
                column=source,
                row_word=raw.row_word,
            )
        else:
            resolved[field] = None
    # extra fields in the mapping (attributes renamed on load) are kept too
    for field, source in columns.items():
        if field not in known:
            if source not in raw.frame.columns:
                raise DataFormatError(
                    f"missing column '{source}' (mapped to '{field}'); the file has columns: "
                    f"{', '.join(map(str, raw.frame.columns))}",
                    path=raw.path,
                    column=source,
                )
            resolved[field] = source
    return resolved


def _id_column(raw: RawTable, column: str) -> np.ndarray:
    values = raw.frame[column].tolist()
    out = np.empty(len(values), dtype=object)
    for row, value in enumerate(values):
        if _is_missing(value):
            raise raw.error("empty id", row, column)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out[row] = str(value).strip()
    return out


def _float_column(raw: RawTable, column: str) -> np.ndarray:
    values = raw.frame[column].tolist()
    out = np.empty(len(values), dtype=np.float64)
    for row, value in enumerate(values):
        try:
            if _is_missing(value) or isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise raw.error(f"not a number: {value!r}", row, column) from None
        if not math.isfinite(number):
            raise raw.error(f"not a finite number: {value!r}", row, column)
        out[row] = number
    return out


def _timestamp_column(raw: RawTable, column: str) -> np.ndarray:
    """Unix seconds from integers, floats or ISO-8601 strings."""
    values = raw.frame[column].tolist()
    out = np.empty(len(values), dtype=np.int64)
    for row, value in enumerate(values):
        if _is_missing(value) or isinstance(value, bool):
            raise raw.error("missing timestamp", row, column)
        try:
            out[row] = int(float(value))
            continue
        except (TypeError, ValueError, OverflowError):
            pass
        try:
            stamp = pd.Timestamp(str(value))
        except (TypeError, ValueError):
            raise raw.error(
                f"not a timestamp: {value!r} (expected Unix seconds or ISO-8601)", row, column
            ) from None
        if stamp is pd.NaT:
            raise raw.error(f"not a timestamp: {value!r}", row, column)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        out[row] = int(stamp.timestamp())
    return out


def _check_unique(raw: RawTable, ids: np.ndarray, column: str, kind: str) -> None:
    first_row: dict[str, int] = {}
    for row, value in enumerate(ids.tolist()):
        previous = first_row.setdefault(value, row)
        if previous != row:
            raise raw.error(
                f"duplicate {kind} id {value!r} (first at {raw.row_word} {int(raw.lines[previous])})",
                row,
                column,
            )


def _attributes(raw: RawTable, resolved: dict[str, str | None], skip: set[str]) -> dict[str, list]:
    """Every column not consumed by a typed field, renamed to its semrec field when mapped."""
    rename = {source: field for field, source in resolved.items() if source is not None}
    used = {resolved[field] for field in skip if resolved.get(field)}
    out: dict[str, list] = {}
    for column in raw.frame.columns:
        if column in used:
            continue
        out[rename.get(column, column)] = [
            None if _is_missing(value) else (value.strip() if isinstance(value, str) else value)
            for value in raw.frame[column].tolist()
        ]
    return out


def load_items(path: str | Path, columns: Mapping[str, str] | None = None, **read_options) -> pd.DataFrame:
    """Load an item table.

    Args:
        path: CSV / TSV / Parquet / JSONL file.
        columns: ``{semrec field: file column}``; ``item_id`` is required. Other columns are kept
            as text fields / attributes under their own (or mapped) names.
        **read_options: ``sep`` and ``encoding``, passed to :func:`read_table`.

    Returns:
        DataFrame with ``item_id`` (str, unique) first, then every other column.

    Raises:
        DataFormatError: Missing ``item_id`` column, an empty id, or a duplicate id (naming both lines).
    """
    raw = read_table(path, **read_options)
    resolved = _resolve_columns(raw, columns, ("item_id",), ())
    ids = _id_column(raw, resolved["item_id"])
    _check_unique(raw, ids, resolved["item_id"], "item")
    frame = pd.DataFrame({"item_id": ids.astype(str), **_attributes(raw, resolved, {"item_id"})})
    return frame.reset_index(drop=True)


def load_users(path: str | Path, columns: Mapping[str, str] | None = None, **read_options) -> pd.DataFrame:
    """Load a user table: ``user_id`` (str, unique) first, then attributes and optional text.

    Raises:
        DataFormatError: Missing ``user_id`` column, an empty id, or a duplicate id.
    """
    raw = read_table(path, **read_options)
    resolved = _resolve_columns(raw, columns, ("user_id",), ())
    ids = _id_column(raw, resolved["user_id"])
    _check_unique(raw, ids, resolved["user_id"], "user")
    frame = pd.DataFrame({"user_id": ids.astype(str), **_attributes(raw, resolved, {"user_id"})})
    return frame.reset_index(drop=True)


def load_interactions(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    *,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    default_event: str = "interaction",
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

    Returns:
        DataFrame with columns ``user_id`` (str), ``item_id`` (str), ``value`` (float64),
        ``timestamp`` (int64, Unix seconds; the file line when absent), ``event`` (str).

    Raises:
        DataFormatError: A missing column, an unparsable number or timestamp, or an id not
            found in ``items`` / ``users``; the message names file, line and column.
    """
    raw = read_table(path, **read_options)
    resolved = _resolve_columns(raw, columns, ("user_id", "item_id"), ("value", "timestamp", "event"))
    user_ids = _id_column(raw, resolved["user_id"])
    item_ids = _id_column(raw, resolved["item_id"])
    n = len(raw.frame)
    values = _float_column(raw, resolved["value"]) if resolved["value"] else np.ones(n)
    timestamps = _timestamp_column(raw, resolved["timestamp"]) if resolved["timestamp"] else raw.lines.copy()
    if resolved["event"]:
        events = [default_event if _is_missing(e) else str(e).strip() for e in raw.frame[resolved["event"]]]
    else:
        events = [default_event] * n
    for known, ids, field, kind in ((items, item_ids, "item_id", "item"), (users, user_ids, "user_id", "user")):
        if known is None:
            continue
        valid = set(known[field].tolist())
        unknown = [row for row, value in enumerate(ids.tolist()) if value not in valid]
        if unknown:
            others = f" ({len(unknown) - 1} more rows name unknown {kind}s)" if len(unknown) > 1 else ""
            raise raw.error(
                f"unknown {kind} id {ids[unknown[0]]!r}: not in the {kind} table{others}",
                unknown[0],
                resolved[field],
            )
    return pd.DataFrame(
        {
            "user_id": user_ids.astype(str),
            "item_id": item_ids.astype(str),
            "value": values,
            "timestamp": timestamps.astype(np.int64),
            "event": np.asarray(events, dtype=object),
        }
    )


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
    ) -> Dataset:
        """Load and cross-validate the three tables (interactions must name known items and users).

        Raises:
            DataFormatError: As :func:`load_items`, :func:`load_users`, :func:`load_interactions`.
        """
        item_table = load_items(items, item_columns, encoding=encoding, sep=sep)
        user_table = None if users is None else load_users(users, user_columns, encoding=encoding, sep=sep)
        interaction_table = load_interactions(
            interactions, interaction_columns, items=item_table, users=user_table, encoding=encoding, sep=sep
        )
        if interaction_table.empty:
            raise DataFormatError("no interactions: the file has a header but no rows", path=interactions)
        return cls(item_table, interaction_table, user_table, name)

    @classmethod
    def text_only(cls, items: pd.DataFrame, name: str = "catalogue") -> Dataset:
        """A catalogue without behaviour yet: zero interactions (text queries and content similarity only)."""
        empty = pd.DataFrame({"user_id": pd.Series([], dtype=object), "item_id": pd.Series([], dtype=object),
                              "value": pd.Series([], dtype=np.float64), "timestamp": pd.Series([], dtype=np.int64),
                              "event": pd.Series([], dtype=object)})  # fmt: skip
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
    if _is_missing(value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(LIST_SEPARATOR) if part.strip()]
