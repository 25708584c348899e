"""Reading table files (CSV, TSV, Parquet, JSON Lines) and parsing their columns, with file/line-precise errors.

:func:`read_table` reads a file as strings without interpreting values; the column helpers map semrec
fields to file columns and parse ids, numbers and timestamps. Every problem raises
:class:`~semrec.errors.DataFormatError` naming the file, the line (CSV/TSV/JSONL; the header is line 1)
or row (Parquet) and the column. The typed loaders built on them are in :mod:`semrec.data.tables`.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from semrec.errors import DataFormatError

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
                byte = raw[exc.start : exc.start + 1]
                return DataFormatError(
                    f"not valid {encoding} text (byte {byte!r} at character {exc.start + 1}); "
                    "pass the file's encoding (--encoding latin-1, cp1252 ...)",
                    path=path,
                    line=number,
                )
    return DataFormatError(f"not valid {encoding} text; pass the file's encoding", path=path)


def read_table(
    path: str | Path, *, sep: str | None = None, encoding: str = "utf-8", escapechar: str | None = None
) -> RawTable:
    """Read a CSV / TSV / Parquet / JSON Lines file without interpreting values.

    The format follows the suffix: ``.csv`` (comma), ``.tsv``/``.tab``/``.txt`` (tab),
    ``.parquet``/``.pq``, ``.jsonl``/``.ndjson``. ``sep`` overrides the delimiter of text files;
    ``escapechar`` (text files) is the character that escapes a quote or separator inside a field
    (Book-Crossing writes ``\\"``; default: quotes are doubled, RFC 4180).

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
        return _read_delimited(path, sep or _TEXT_SUFFIXES[suffix], encoding, escapechar)
    raise DataFormatError(f"unsupported file type '{suffix}'; use .csv, .tsv, .parquet or .jsonl", path=path)


def _no_field_limit() -> None:
    """Lift the csv module's 128 KiB field limit: a long description is data, not an error."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # C long is 32 bits on some platforms
            limit //= 2


def _read_delimited(path: Path, sep: str, encoding: str, escapechar: str | None = None) -> RawTable:
    rows: list[list[str]] = []
    lines: list[int] = []
    _no_field_limit()
    start = 1
    try:
        with path.open(newline="", encoding=encoding) as handle:
            reader = csv.reader(handle, delimiter=sep, escapechar=escapechar)
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
        raise DataFormatError(f"malformed {'TSV' if sep == chr(9) else 'CSV'}: {exc}", path=path, line=start) from exc
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


def is_missing(value: object) -> bool:
    """``None``, NaN, or a blank string."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def resolve_columns(
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


def required_column(resolved: Mapping[str, str | None], field: str) -> str:
    """The file column of a required field of :func:`resolve_columns` (which raised if the file lacks it)."""
    column = resolved[field]
    assert column is not None, f"{field!r} was resolved as an optional field"
    return column


def id_column(raw: RawTable, column: str) -> np.ndarray:
    values = raw.frame[column].tolist()
    out = np.empty(len(values), dtype=object)
    for row, value in enumerate(values):
        if is_missing(value):
            raise raw.error("empty id", row, column)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out[row] = str(value).strip()
    return out


def float_column(raw: RawTable, column: str) -> np.ndarray:
    values = raw.frame[column].tolist()
    out = np.empty(len(values), dtype=np.float64)
    for row, value in enumerate(values):
        try:
            if is_missing(value) or isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise raw.error(f"not a number: {value!r}", row, column) from None
        if not math.isfinite(number):
            raise raw.error(f"not a finite number: {value!r}", row, column)
        out[row] = number
    return out


MAX_TIMESTAMP = 10**11
"""The latest accepted timestamp, as the service accepts (Unix seconds)."""


def timestamp_column(raw: RawTable, column: str) -> np.ndarray:
    """Unix seconds from integers, floats or ISO-8601 strings.

    Raises:
        DataFormatError: A missing or unparsable value, or one outside ``0..MAX_TIMESTAMP``
            (naming the line; a value that looks like milliseconds says so).
    """
    values = raw.frame[column].tolist()
    out = np.empty(len(values), dtype=np.int64)
    for row, value in enumerate(values):
        if is_missing(value) or isinstance(value, bool):
            raise raw.error("missing timestamp", row, column)
        try:
            out[row] = int(float(value))
            continue
        except (TypeError, ValueError, OverflowError):
            pass
        try:
            stamp = pd.Timestamp(str(value))
        except (TypeError, ValueError):
            raise raw.error(f"not a timestamp: {value!r} (expected Unix seconds or ISO-8601)", row, column) from None
        if stamp is pd.NaT:
            raise raw.error(f"not a timestamp: {value!r}", row, column)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        out[row] = int(stamp.timestamp())
    bad = np.flatnonzero((out < 0) | (out > MAX_TIMESTAMP))
    if len(bad):
        value = int(out[bad[0]])
        hint = " (milliseconds? divide by 1000)" if value > MAX_TIMESTAMP else ""
        others = f"; {len(bad) - 1} more rows are out of range" if len(bad) > 1 else ""
        raise raw.error(
            f"timestamp {value} is outside 0..{MAX_TIMESTAMP:,} Unix seconds (1970 to year 5138){hint}{others}",
            int(bad[0]),
            column,
        )
    return out


def check_unique(raw: RawTable, ids: np.ndarray, column: str, kind: str, keep_first: bool = False) -> np.ndarray:
    """``(n_rows,) bool`` rows to keep: every row, or (``keep_first``) the first of each id.

    Raises:
        DataFormatError: A duplicate id (naming both lines) and not ``keep_first``.
    """
    first_row: dict[str, int] = {}
    keep = np.ones(len(ids), dtype=bool)
    for row, value in enumerate(ids.tolist()):
        previous = first_row.setdefault(value, row)
        if previous != row:
            if keep_first:
                keep[row] = False
                continue
            raise raw.error(
                f"duplicate {kind} id {value!r} (first at {raw.row_word} {int(raw.lines[previous])}); "
                "pass on_duplicate='first' (--on-duplicate first) to keep the first",
                row,
                column,
            )
    return keep


def attribute_columns(raw: RawTable, resolved: dict[str, str | None], skip: set[str]) -> dict[str, list]:
    """Every column not consumed by a typed field, renamed to its semrec field when mapped."""
    rename = {source: field for field, source in resolved.items() if source is not None}
    used = {resolved[field] for field in skip if resolved.get(field)}
    out: dict[str, list] = {}
    for column in raw.frame.columns:
        if column in used:
            continue
        out[rename.get(column, column)] = [
            None if is_missing(value) else (value.strip() if isinstance(value, str) else value)
            for value in raw.frame[column].tolist()
        ]
    return out
