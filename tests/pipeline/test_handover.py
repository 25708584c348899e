import numpy as np
import pandas as pd
import pytest

from semrec.config import RecommenderConfig
from semrec.evaluation.handover import genre_text
from semrec.pipeline import Recommender
from semrec.pipeline.handover import HandoverConfig
from semrec.scorers.prior import AttributedHistories, DemographicPrior
from semrec.text import EncoderConfig
from semrec.types import Query


def test_weights_are_continuous_no_cliff_at_any_count():
    config = HandoverConfig(n0=10, ramp_start=10, ramp_end=20)
    ws, rs = zip(*(config.weights(n) for n in range(0, 41)))
    assert ws[0] == 0 and rs[:11] == (0.0,) * 11 and rs[20:] == (1.0,) * 21
    assert max(np.abs(np.diff(ws))) < 0.1 and max(np.abs(np.diff(rs))) <= 0.1 + 1e-12
    with pytest.raises(ValueError):
        HandoverConfig(ramp_start=5, ramp_end=5)


def test_demographic_prior_known_answer():
    users = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "gender": ["F", "F", "M", "M"], "age": [20, 22, 60, 65]})
    histories = [np.array([0]), np.array([0, 1]), np.array([2]), np.array([2, 1])]
    prior = DemographicPrior.fit(AttributedHistories(users, ["a", "b", "c", "d"], histories, 3))
    assert prior.fields == ["gender", "age"]
    assert np.argmax(prior.score({"gender": "F"}, 3)) == 0 and np.argmax(prior.score({"gender": "M"}, 3)) == 2
    assert np.argmax(prior.score({"age": 61}, 3)) == 2 and prior.score({"planet": "Mars"}, 3) is None
    restored = DemographicPrior.from_state(prior.state())
    assert np.array_equal(restored.score({"gender": "F", "age": 21}, 4), prior.score({"gender": "F", "age": 21}, 4))


def test_pipeline_moves_from_attributes_to_behaviour(with_users, hashing, tmp_path):
    handover = HandoverConfig(n0=1, ramp_start=2, ramp_end=3)
    config = RecommenderConfig(scorer="ease", encoder=EncoderConfig(model="hashing"), handover=handover)
    model = Recommender.fit(with_users, config, encoder=hashing)
    kid = model.recommend(Query(attributes={"likes": "cartoons"}, k=2))
    assert kid.source == model.models.prior.name and set(kid.item_ids) == {"toy", "lion"}
    assert model.recommend(Query(k=2)).source == "most-popular"
    one = model.recommend(Query(history=["scream"], attributes={"likes": "cartoons"}, k=2))
    assert one.source == "handover"
    many = model.recommend(Query(history=["scream", "shining", "alien"], k=2))
    assert many.source == "ease"  # three items: the ramp has ended, the main scorer alone
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.recommend(Query(attributes={"likes": "cartoons"}, k=2)).item_ids.tolist() == kid.item_ids.tolist()


def test_factor_prior_learns_attribute_preferences(tmp_path):
    pytest.importorskip("lightfm")
    from semrec.scorers.prior import FactorPrior, prior_from_state

    rng = np.random.default_rng(0)
    users = pd.DataFrame({"user_id": [f"u{i}" for i in range(60)], "group": ["kids"] * 30 + ["adults"] * 30})
    # kids interact with items 0-4, adults with items 5-9 (each a random 3 of their 5)
    histories = [rng.choice(5, 3, replace=False) + (0 if i < 30 else 5) for i in range(60)]
    prior = FactorPrior.fit(
        AttributedHistories(users, users["user_id"].tolist(), histories, 10), ["Kids"] * 5 + ["Adult"] * 5, epochs=30
    )
    kids, adults = prior.score({"group": "kids"}, 10), prior.score({"group": "adults"}, 10)
    assert set(np.argsort(-kids)[:5]) == set(range(5)) and set(np.argsort(-adults)[:5]) == set(range(5, 10))
    assert prior.score({"planet": "Mars"}, 10) is None and prior.score({"group": "kids"}, 12).shape == (12,)
    restored = prior_from_state(prior.state())
    assert np.allclose(restored.score({"group": "kids"}, 10), kids)


def test_genre_text():
    assert genre_text(["Comedy|Romance", "Comedy", "Drama|Romance", "Comedy"]) == "I enjoy comedy, romance and drama"
    assert genre_text([None]) == "I enjoy films"
