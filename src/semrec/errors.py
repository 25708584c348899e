"""Exceptions raised by semrec.

Every exception derives from :class:`SemrecError`, so a caller (the CLI, the service) can
catch one type and turn it into a clear message and a non-zero exit / a 4xx response.
"""

from __future__ import annotations

from pathlib import Path


class SemrecError(Exception):
    """Base class of every error semrec raises on purpose."""


class DataFormatError(SemrecError, ValueError):
    """Input data is malformed; the message names the file, line and column.

    Attributes:
        path: The file that holds the bad value, or ``None`` for in-memory data.
        line: 1-based line number in a text file (the header is line 1 of a CSV), or the
            1-based row number of a Parquet file; ``None`` when the error concerns the whole file.
        column: The column (as named in the file) that holds the bad value, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        row_word: str = "line",
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        self.reason = message
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"{row_word} {line}")
        if column is not None:
            where.append(f"column '{column}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class UnknownIdError(SemrecError, KeyError):
    """An external id (user or item) is not in the vocabulary."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown id"


class NotFittedError(SemrecError, RuntimeError):
    """A scorer or recommender was used before ``fit``."""


class ArtifactError(SemrecError):
    """A model artifact folder is missing, incomplete, or of an unsupported format."""


class DatasetFetchError(SemrecError):
    """A dataset could not be fetched from any of its sources, or failed verification."""


class QueryError(SemrecError, ValueError):
    """A recommendation request is invalid (empty text, k out of range, unknown item in history)."""


class UsageError(SemrecError, ValueError):
    """A caller's argument or option is invalid: an unknown name, a malformed ``KEY=VALUE``, a value
    out of range for the data (the CLI reports it as a usage error, exit status 2)."""
