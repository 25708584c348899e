"""Pipeline-level tests of the hybrid and the onboarding ranker (moved from test_sequence.py and
test_onboarding.py when the models moved to semrec.scorers / semrec.ltr).

They run the whole Recommender, so they import the pipeline API (semrec.pipeline, semrec.config,
semrec.types); the lead may merge them into the pipeline's own tests.
"""

import numpy as np

from semrec.config import RecommenderConfig
from semrec.ltr.onboarding import OnboardingConfig
from semrec.pipeline import Recommender
from semrec.types import Query
from tests.conftest import N_CHECKER
from tests.test_onboarding import DAY, ERA_B, START, eras


def test_pipeline_uses_the_hybrid_for_short_histories(checker, hashing, tmp_path):
    config = RecommenderConfig(scorer="hybrid")
    model = Recommender.fit(checker, config, encoder=hashing)
    result = model.recommend(Query(history=["i0", "i2"], k=3))
    assert result.source == "hybrid" and all(int(i[1:]) % 2 == 0 for i in result.item_ids)
    model.save(tmp_path / "m")
    again = Recommender.load(tmp_path / "m", encoder=hashing)
    assert again.recommend(Query(history=["i0", "i2"], k=3)).item_ids.tolist() == result.item_ids.tolist()


def test_items_added_after_fit_are_scored_through_the_bridge(checker, hashing, tmp_path):
    model = Recommender.fit(checker, RecommenderConfig(scorer="hybrid"), encoder=hashing)
    assert len(model.scorer.bridge_rows) == N_CHECKER  # fitted although every item is warm
    # the titles say nothing about parity; only the genres (side features) do
    model.upsert_item("new-even", {"title": "Film", "genres": "Even|Numbers"})
    model.upsert_item("new-odd", {"title": "Film", "genres": "Odd|Numbers"})
    even_user = [f"i{i}" for i in range(2, 20, 2)]
    query = Query(history=even_user, k=model.n_items)
    ranked = model.recommend(query).item_ids.tolist()
    assert ranked.index("new-even") < ranked.index("new-odd")
    model.save(tmp_path / "m")
    again = Recommender.load(tmp_path / "m", encoder=hashing)
    assert again.catalogue.feature_spec == model.catalogue.feature_spec
    assert again.recommend(query).item_ids.tolist() == ranked
    np.testing.assert_array_equal(again.recommend(query).scores, model.recommend(query).scores)


def test_recommender_uses_it_for_short_histories_and_saves_it(tmp_path, hashing):
    dataset = eras()
    config = RecommenderConfig(scorer="hybrid", onboarding=OnboardingConfig(enabled=True, min_child_samples=20))
    model = Recommender.fit(dataset, config, encoder=hashing)
    query = Query(history=["i1", "i4", "i6", "i11", "i17"], k=8, context={"timestamp": START["B"] + 30 * DAY})
    answer = model.recommend(query)
    assert answer.source == "onboarding-ranker"
    assert np.isin([int(i[1:]) for i in answer.item_ids], list(ERA_B)).mean() >= 0.875
    model.save(tmp_path / "model")
    loaded = Recommender.load(tmp_path / "model", encoder=hashing)
    again = loaded.recommend(query)
    assert list(again.item_ids) == list(answer.item_ids) and again.source == "onboarding-ranker"
    long_history = Query(history=[f"i{i}" for i in [*range(5), *range(40, 48)]], k=5)
    assert loaded.recommend(long_history).source == "hybrid"  # 13 items > max_history: the main scorer


def test_a_request_without_a_time_is_scored_as_of_the_data_end(hashing):
    # the data ends in era B, so a request "now" (no context time) gets era-B items
    config = RecommenderConfig(scorer="hybrid", onboarding=OnboardingConfig(enabled=True, min_child_samples=20))
    answer = Recommender.fit(eras(), config, encoder=hashing).recommend(Query(history=["i2", "i8", "i13"], k=8))
    assert answer.source == "onboarding-ranker"
    assert np.isin([int(i[1:]) for i in answer.item_ids], list(ERA_B)).mean() >= 0.875
