"""Named data sets that ``semrec data fetch NAME`` and ``--dataset NAME`` understand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from semrec.data import movielens
from semrec.data.tables import Dataset
from semrec.errors import UsageError


@dataclass(frozen=True)
class DatasetEntry:
    """How to fetch and load one named data set, and its recommended item-text template."""

    fetch: Callable[..., movielens.FetchReport]
    load: Callable[..., Dataset]
    text_template: str


DATASETS: dict[str, DatasetEntry] = {
    movielens.NAME: DatasetEntry(
        movielens.fetch_movielens_100k, movielens.load_movielens_100k, movielens.TEXT_TEMPLATE
    ),
    movielens.ML_1M.name: DatasetEntry(
        movielens.fetch_movielens_1m, movielens.load_movielens_1m, movielens.TEXT_TEMPLATE
    ),
}


def dataset_entry(name: str) -> DatasetEntry:
    """The registered data set ``name``.

    Raises:
        UsageError: Unknown name (a :class:`ValueError`); the message lists the known ones.
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}") from None


def load_named(name: str, cache: Path | None = None, timeout: float = 5.0) -> Dataset:
    """Fetch (once, cached) and load a registered data set."""
    return dataset_entry(name).load(cache, timeout)
