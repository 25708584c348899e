"""Dirty real files, data without timestamps, and catalogues larger than the dense models (known answers)."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from semrec.capacity import LARGE_CATALOGUE_SCORER, plan
from semrec.cli import app
from semrec.config import RecommenderConfig
from semrec.data.tables import Dataset
from semrec.errors import DataFormatError, UsageError
from semrec.evaluation.protocols import random_holdout, split_random
from semrec.scorers.described import MAX_VALUES, attribute_values

BOOKS = (
    '"ISBN";"Book-Title";"Book-Author"\r\n'
    '"0001";"A \\"quoted\\" title; with a separator";"Ann"\r\n'
    '"0002\t";"Second";"Bob"\r\n'
    '"0002";"Second, again";"Bob"\r\n'
)
RATINGS = '"User-ID";"ISBN";"Book-Rating"\r\n"1";"0001";"0"\r\n"1";"0002";"7"\r\n"2";"9999";"5"\r\n"2";"0001";"3"\r\n'


def files(tmp_path):
    (tmp_path / "books.csv").write_bytes(BOOKS.encode("latin-1"))
    (tmp_path / "ratings.csv").write_bytes(RATINGS.encode("latin-1"))
    return tmp_path / "books.csv", tmp_path / "ratings.csv"


def load(tmp_path, **options):
    books, ratings = files(tmp_path)
    return Dataset.from_files(
        books,
        ratings,
        item_columns={"item_id": "ISBN", "title": "Book-Title"},
        interaction_columns={"user_id": "User-ID", "item_id": "ISBN", "value": "Book-Rating"},
        encoding="latin-1",
        sep=";",
        escapechar="\\",
        **options,
    )


def test_dirty_files_are_errors_by_default_naming_file_and_line(tmp_path):
    with pytest.raises(DataFormatError) as info:
        load(tmp_path)
    message = str(info.value)
    assert "books.csv" in message and "line 4" in message and "duplicate item id '0002' (first at line 3)" in message
    assert "--on-duplicate first" in message
    with pytest.raises(DataFormatError) as info:
        load(tmp_path, on_duplicate="first")
    assert "ratings.csv" in str(info.value) and "line 4" in str(info.value) and "'9999'" in str(info.value)


def test_keep_first_and_skip_unknown_report_their_counts(tmp_path):
    data = load(tmp_path, on_duplicate="first", unknown="skip")
    assert data.items["item_id"].tolist() == ["0001", "0002"]  # the tab-suffixed id stripped, its twin dropped
    assert data.items["title"].tolist() == ['A "quoted" title; with a separator', "Second"]
    assert data.interactions[["user_id", "item_id", "value"]].values.tolist() == [
        ["1", "0001", 0.0],
        ["1", "0002", 7.0],
        ["2", "0001", 3.0],
    ]
    assert data.notes == (
        "books.csv: duplicate item ids (first kept): 1 rows dropped",
        "ratings.csv: unknown item ids (skipped): 1 rows dropped",
    )


def test_cli_fit_takes_the_dirty_file_options(tmp_path, monkeypatch):
    books, ratings = files(tmp_path)
    args = ["fit", "--items", str(books), "--interactions", str(ratings), "--encoder", "hashing", "--sep", ";"]
    args += ["--encoding", "latin-1", "--item-col", "item_id=ISBN", "--item-col", "title=Book-Title"]
    args += ["--interaction-col", "user_id=User-ID", "--interaction-col", "item_id=ISBN", "--escapechar", "\\"]
    monkeypatch.setenv("SEMREC_CACHE_DIR", str(tmp_path / "cache"))
    strict = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert strict.exit_code == 2 and "duplicate item id" in strict.stderr
    lenient = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "b"), "--on-duplicate", "first", "--unknown", "skip", "--scorer", "als"]
    )
    assert lenient.exit_code == 0, lenient.output
    assert "note: books.csv: duplicate item ids (first kept): 1 rows dropped" in lenient.output
    assert "note: ratings.csv: unknown item ids (skipped): 1 rows dropped" in lenient.output


def test_random_holdout_is_seeded_per_user_and_leaves_sparse_users_in_train():
    rows = [(u, f"i{j}") for u, n in (("a", 10), ("b", 5), ("c", 4)) for j in range(n)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"]).assign(timestamp=0, value=1.0)
    split = split_random(frame)
    test = split.test.groupby("user_id").size().to_dict()
    assert test == {"a": 2, "b": 1}  # floor(0.2 n), at least 1; c has < 5 interactions: train only
    assert len(split.train) + len(split.test) == len(frame)
    assert set(split.train[split.train.user_id == "c"]["item_id"]) == {f"i{j}" for j in range(4)}
    again = split_random(frame.sample(frac=1.0, random_state=3))  # the file order does not matter
    assert sorted(map(tuple, again.test[["user_id", "item_id"]].values)) == sorted(
        map(tuple, split.test[["user_id", "item_id"]].values)
    )
    other = random_holdout(frame, seed=7)
    assert len(other.test) == 3


def test_the_default_scorer_switches_above_its_limit_and_a_chosen_one_is_refused_early():
    small = plan(RecommenderConfig(), 1_000)
    assert small.config.scorer == "hybrid" and small.notes == []
    large = plan(RecommenderConfig(), 300_000)
    assert large.config.scorer == LARGE_CATALOGUE_SCORER and not large.config.onboarding.enabled
    assert "300,000 items > 10,000" in large.notes[0] and "onboarding ranker off" in large.notes[1]
    with pytest.raises(UsageError, match=r"ease holds dense .* 335 GiB each for 300,000 items.*--scorer ease-head"):
        plan(RecommenderConfig(scorer="ease"), 300_000)
    assert plan(RecommenderConfig(scorer="als"), 1_000_000).notes == []


def test_a_chosen_dense_scorer_is_refused_before_encoding(monkeypatch):
    from semrec.text import encoders

    def no_encoding(*args, **kwargs):
        raise AssertionError("encoded before the capacity check")

    items = pd.DataFrame({"item_id": [str(i) for i in range(30)], "title": [f"t{i}" for i in range(30)]})
    inter = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["0", "1", "2"], "value": 1.0, "timestamp": [1, 2, 3]})
    data = Dataset(items, inter.assign(event="interaction"))
    monkeypatch.setattr(encoders.HashingEncoder, "encode", no_encoding)
    from semrec.pipeline import Recommender
    from semrec.text import EncoderConfig

    config = RecommenderConfig(scorer="ease", scorer_config={"max_items": 20}, encoder=EncoderConfig(model="hashing"))
    with pytest.raises(UsageError, match="30 items"):
        Recommender.fit(data, config)


def test_a_vocabulary_larger_than_the_cap_is_not_read_as_interests():
    few = pd.DataFrame({"genres": ["A|B", "B"]})
    assert attribute_values(few) == [["A", "B"], ["B"]]
    many = pd.DataFrame({"author": [f"author {i}" for i in range(MAX_VALUES + 1)]})
    assert attribute_values(many) is None
    assert len(np.unique([v for vs in attribute_values(many.iloc[:MAX_VALUES]) for v in vs])) == MAX_VALUES


def test_head_ease_is_ease_on_the_head_and_knn_beyond_it():
    from semrec.scorers import EASEScorer, HeadEASEScorer, TrainData
    from semrec.scorers.ease import EASEConfig
    from semrec.scorers.large import HeadEASEConfig

    rng = np.random.default_rng(0)
    histories = [np.unique(rng.integers(0, 40, size=8)).astype(np.int64) for _ in range(60)]
    data = TrainData(histories, 50)  # items 40-49 never interacted
    queries = [np.array([1, 2, 3], dtype=np.int64), np.array([5, 7], dtype=np.int64)]
    whole = HeadEASEScorer(HeadEASEConfig(head_items=50, knn_weight=0.0, l2=10.0)).fit(data)
    assert whole.similarity is None  # no kNN part at weight 0
    ease = EASEScorer(EASEConfig(l2=10.0)).fit(data)
    assert len(whole.head) == 40  # only interacted items make the head
    for q in queries:
        a, b = whole._score([q])[0], ease._score([q])[0][whole.head]
        np.testing.assert_allclose(a[whole.head], (b - b.mean()) / b.std(), rtol=1e-3, atol=1e-4)
    small = HeadEASEScorer(HeadEASEConfig(head_items=10, knn_weight=1.0, l2=10.0)).fit(data)
    counts = np.bincount(np.concatenate(histories), minlength=50)
    assert set(small.head.tolist()) == set(np.argsort(-counts, kind="stable")[:10].tolist())
    scores = small._score(queries)
    tail = np.setdiff1d(np.arange(50), small.head)
    knn = (histories_csr(queries, 50) @ small.similarity).toarray()
    # outside the head the order is the kNN order
    for row in range(len(queries)):
        assert np.array_equal(np.argsort(-scores[row, tail], kind="stable"), np.argsort(-knn[row, tail], kind="stable"))


def histories_csr(histories, n):
    from semrec.scorers import histories_to_csr

    return histories_to_csr(histories, n)


def test_ann_text_search_is_saved_searchable_after_upsert_and_matches_exact_search(catalogue, tmp_path):
    from semrec.pipeline import Recommender
    from semrec.pipeline.ann import ANNConfig, recall_at_k
    from semrec.text import EncoderConfig
    from semrec.types import Query

    exact = Recommender.fit(catalogue, RecommenderConfig(scorer="ease", encoder=EncoderConfig(model="hashing")))
    config = RecommenderConfig(
        scorer="ease", encoder=EncoderConfig(model="hashing"), ann=ANNConfig(min_items=5, candidates=4)
    )
    model = Recommender.fit(catalogue, config)
    assert exact.catalogue.ann is None and model.catalogue.ann is not None
    assert len(model.catalogue.ann) == len(catalogue.items)
    items = model.catalogue.embeddings
    assert recall_at_k(model.catalogue.ann, items, items, k=1) == 1.0  # each item finds itself
    vectors = model.catalogue.query_vectors(["toys for kids", "a ship that sinks"])
    approx, full = model.catalogue.cosine(vectors), vectors @ items.T
    scores, found = model.catalogue.ann.search(vectors, 4)
    for row in range(2):  # the 4 retrieved keep their exact cosine; the rest sit at the 4th best
        np.testing.assert_allclose(approx[row, found[row]], full[row, found[row]], rtol=1e-5, atol=1e-6)
        assert np.allclose(np.delete(approx[row], found[row]), scores[row].min(), atol=1e-6)
    query = Query(text="toys for kids", k=3)
    assert model.recommend(query).item_ids.tolist() == exact.recommend(query).item_ids.tolist()
    model.save(tmp_path / "art")
    loaded = Recommender.load(tmp_path / "art")
    assert loaded.catalogue.ann is not None and len(loaded.catalogue.ann) == len(catalogue.items)
    assert loaded.recommend(query).item_ids.tolist() == model.recommend(query).item_ids.tolist()
    position = loaded.upsert_item("zebra", {"title": "Zebra crossing stripes documentary"})
    assert len(loaded.catalogue.ann) == len(loaded.catalogue)  # in the index at once
    _, found = loaded.catalogue.ann.search(loaded.catalogue.query_vectors(["Zebra crossing stripes documentary"]), 1)
    assert found[0, 0] == position
