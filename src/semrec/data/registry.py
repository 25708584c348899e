"""Named data sets that ``semrec data fetch NAME`` and ``--dataset NAME`` understand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semrec.data import bookcrossing, movielens
from semrec.data.tables import Dataset
from semrec.errors import UsageError


@dataclass(frozen=True)
class DatasetEntry:
    """How to fetch and load one named data set, and the configuration it recommends.

    Attributes:
        text_template: The item-text template (:class:`~semrec.text.TextTemplateConfig`).
        value_template: How an attribute value is named for intent matching
            (:class:`~semrec.pipeline.intent.IntentConfig`).
        value_aliases: Other names of the values (other languages), for the same matching.
        value_words: Words that name a value verbatim in CJK text
            (:attr:`~semrec.pipeline.intent.IntentConfig.value_words`).
    """

    fetch: Callable[..., movielens.FetchReport | bookcrossing.BookCrossingReport]
    load: Callable[..., Dataset]
    text_template: str
    value_template: str = "{value}"
    value_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    value_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lenient: bool = False
    """``fetch`` and ``load`` take ``on_duplicate`` / ``unknown`` (dirty source files)."""

    def config_fields(self, text_template: str | None = None) -> dict[str, Any]:
        """``text`` and ``intent`` fields of a :class:`~semrec.config.RecommenderConfig` for this data set
        (``text_template`` overrides the recommended one)."""
        from semrec.pipeline.intent import IntentConfig
        from semrec.text import TextTemplateConfig

        return {
            "text": TextTemplateConfig(template=text_template or self.text_template),
            "intent": IntentConfig(
                value_template=self.value_template, value_aliases=self.value_aliases, value_words=self.value_words
            ),
        }


DATASETS: dict[str, DatasetEntry] = {
    movielens.NAME: DatasetEntry(
        movielens.fetch_movielens_100k,
        movielens.load_movielens_100k,
        movielens.TEXT_TEMPLATE,
        "{value} movies",
        movielens.GENRE_NAMES,
        movielens.GENRE_WORDS,
    ),
    movielens.ML_1M.name: DatasetEntry(
        movielens.fetch_movielens_1m,
        movielens.load_movielens_1m,
        movielens.TEXT_TEMPLATE,
        "{value} movies",
        movielens.GENRE_NAMES,
        movielens.GENRE_WORDS,
    ),
    bookcrossing.NAME: DatasetEntry(
        bookcrossing.fetch_book_crossing,
        bookcrossing.load_book_crossing,
        bookcrossing.TEXT_TEMPLATE,
        lenient=True,
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
