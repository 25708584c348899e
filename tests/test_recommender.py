import json

import numpy as np
import pytest

from semrec.encoders import EncoderConfig, HashingEncoder
from semrec.errors import ArtifactError, QueryError
from semrec.recommender import Query, Recommender, RecommenderConfig

from semrec.handover import HandoverConfig

OFF = HandoverConfig(enabled=False)  # these tests check the scorer itself on tiny histories
CONFIG = RecommenderConfig(scorer="ease", scorer_config={"l2": 1.0}, encoder=EncoderConfig(model="hashing"), handover=OFF)


@pytest.fixture
def model(catalogue, hashing):
    return Recommender.fit(catalogue, CONFIG, encoder=hashing)


def test_known_user_gets_unseen_items_from_the_scorer(model):
    result = model.recommend(Query(user_id="ann", k=3))
    assert result.source == "ease"
    assert not {"toy", "lion"} & set(result.item_ids.tolist())
    assert result.item_ids[0] == "titanic"  # dan, the only co-watcher of toy+lion, also saw titanic
    assert np.all(np.diff(result.scores) <= 0)


def test_request_time_history_folds_in_a_new_user(model):
    result = model.recommend(Query(user_id="newcomer", history=["toy", "lion"], k=1))
    assert result.item_ids.tolist() == ["titanic"] and result.source == "ease"
    assert "unknown" in result.notes[0]


def test_text_cold_start_matches_item_text(model):
    result = model.recommend(Query(text="a haunted horror hotel", k=2))
    assert result.source == "text" and result.item_ids[0] == "shining"


def test_unknown_user_without_anything_falls_back_to_popular(model):
    result = model.recommend(Query(user_id="ghost", k=2))
    assert result.source == "most-popular"
    assert set(result.item_ids.tolist()) <= {"toy", "lion", "alien", "scream", "titanic"}


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_a_clear_error(model, text):
    with pytest.raises(QueryError, match="text query is empty"):
        model.recommend(Query(text=text))


def test_unknown_history_item_is_a_clear_error(model):
    with pytest.raises(QueryError, match="unknown item id"):
        model.recommend(Query(history=["nope"]))


def test_exclude_and_k_larger_than_catalogue(model):
    result = model.recommend(Query(user_id="ann", k=100, exclude=["titanic", "not-an-item"]))
    assert len(result.item_ids) == 5 and "titanic" not in result.item_ids


def test_save_load_gives_identical_answers_without_training_data(model, tmp_path, hashing):
    model.save(tmp_path / "art")
    manifest = json.loads((tmp_path / "art" / "manifest.json").read_text())
    assert manifest["encoder"] == {"model": "hashing", "dim": 256, "normalize": True}
    assert manifest["scorer"] == "ease" and set(manifest["files"]) == {"arrays.npz", "items.parquet", "config.json"}
    loaded = Recommender.load(tmp_path / "art")
    for query in (Query(user_id="eve"), Query(text="kids animation"), Query(history=["notebook"])):
        a, b = model.recommend(query), loaded.recommend(query)
        assert a.item_ids.tolist() == b.item_ids.tolist() and np.allclose(a.scores, b.scores)
    model.save(tmp_path / "art")  # overwrite in place works
    assert Recommender.load(tmp_path / "art").recommend(Query(user_id="eve")).item_ids.tolist() == \
        model.recommend(Query(user_id="eve")).item_ids.tolist()


@pytest.mark.parametrize("scorer", ["most-popular", "content-profile", "als", "ease"])
def test_every_scorer_survives_the_artifact(catalogue, hashing, tmp_path, scorer):
    config = RecommenderConfig(scorer=scorer, encoder=EncoderConfig(model="hashing"), handover=OFF)
    model = Recommender.fit(catalogue, config, encoder=hashing)
    loaded = Recommender.load(model.save(tmp_path / scorer))
    a, b = model.recommend(Query(user_id="bob")), loaded.recommend(Query(user_id="bob"))
    assert a.item_ids.tolist() == b.item_ids.tolist() and np.allclose(a.scores, b.scores, atol=1e-5)
    unknown = loaded.recommend(Query(user_id="nobody", k=3))  # unknown user: popular fallback, no crash
    assert unknown.source == "most-popular" and len(unknown.item_ids) == 3
    folded = loaded.recommend(Query(user_id="nobody", history=["scream"], k=3))  # or fold-in of a history
    assert folded.source == scorer and "scream" not in folded.item_ids


def test_corrupted_or_missing_artifact(model, tmp_path):
    with pytest.raises(ArtifactError, match="no manifest.json"):
        Recommender.load(tmp_path / "missing")
    model.save(tmp_path / "art")
    with (tmp_path / "art" / "arrays.npz").open("ab") as handle:
        handle.write(b"junk")
    with pytest.raises(ArtifactError, match="sha256 differs"):
        Recommender.load(tmp_path / "art")


def test_encoder_identity_mismatch_is_refused(model, tmp_path):
    model.save(tmp_path / "art")
    with pytest.raises(ArtifactError, match="identity"):
        Recommender.load(tmp_path / "art", encoder=HashingEncoder(EncoderConfig(model="hashing", dim=32)))


def test_bad_scorer_config_is_rejected_before_fitting(catalogue, hashing):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Recommender.fit(catalogue, RecommenderConfig(scorer="ease", scorer_config={"l2": -1}), encoder=hashing)
    with pytest.raises(ValidationError):
        RecommenderConfig(scorer="nope")
