import numpy as np
import pytest

from semrec.context import ContextConfig, RequestContext, TimeContextModel, standardise
from semrec.encoders import EncoderConfig
from semrec.errors import QueryError
from semrec.handover import HandoverConfig
from semrec.recommender import Query, Recommender, RecommenderConfig


def test_parse_time_weekday_and_free_text():
    ctx = RequestContext.parse({"time": "2026-11-29T21:30:00+01:00", "occasion": "rainy Sunday with kids",
                                "device": "tv", "temperature": 12})  # fmt: skip
    assert (ctx.hour, ctx.weekday) == (20, 6) and ctx.text == "rainy Sunday with kids. device: tv"
    assert RequestContext.parse({"timestamp": 0}).weekday == 3  # 1970-01-01 was a Thursday
    assert RequestContext.parse({"weekday": "Sat", "hour": "7"}) == RequestContext(7, 5, None)
    for bad in ({"time": "yesterday"}, {"hour": 25}, {"weekday": "someday"}):
        with pytest.raises(QueryError):
            RequestContext.parse(bad)


def test_time_lift_known_answer():
    night, day = 2 * 3600, 14 * 3600  # 02:00 and 14:00 UTC on a Thursday
    histories = [np.array([0, 0, 1]), np.array([1, 2])]
    times = [np.array([night, night + 60, day]), np.array([day, day])]
    model = TimeContextModel.fit(histories, times, 3)
    assert model.hour_counts[0].tolist() == [2, 0, 0] and model.hour_counts[3].tolist() == [0, 2, 1]
    assert np.argmax(model.lift(2, None, 3)) == 0 and np.argmax(model.lift(14, None, 3)) in (1, 2)
    assert model.lift(None, None, 3) is None and model.lift(2, 3, 5).shape == (5,)  # items added later


def test_standardise_ignores_blocked_items():
    out = standardise(np.array([1.0, 3.0, -np.inf], dtype=np.float32))
    assert out[:2].tolist() == [-1.0, 1.0] and np.isneginf(out[2])


def test_occasion_text_changes_a_users_list_and_is_explained(catalogue, hashing):
    config = RecommenderConfig(scorer="ease", scorer_config={"l2": 1.0}, encoder=EncoderConfig(model="hashing"),
                               context=ContextConfig(text_weight=2.0), handover=HandoverConfig(enabled=False))  # fmt: skip
    model = Recommender.fit(catalogue, config, encoder=hashing)
    plain = model.recommend(Query(user_id="eve", k=2))  # a horror fan: her list follows bob (terminator)
    kids = model.recommend(Query(user_id="eve", k=2, explain=True, context={"occasion": "animated film for kids"}))
    assert "terminator" in plain.item_ids and set(kids.item_ids) == {"toy", "lion"}
    romance = model.recommend(Query(user_id="ann", k=2, context={"occasion": "a love story on a ship"}))
    assert romance.item_ids[0] == "titanic" and model.recommend(Query(user_id="ann", k=2)).item_ids[0] == "titanic"
    scary = model.recommend(Query(user_id="cat", k=2, context={"occasion": "haunted hotel horror"}))
    assert "shining" in scary.item_ids and "shining" not in model.recommend(Query(user_id="cat", k=2)).item_ids
    assert any("fits the context 'animated film for kids'" in e.reason.lower() for e in kids.explanations)
    assert any("ranked with the context" in note for note in kids.notes)


def test_time_context_is_off_by_default_and_applies_when_weighted(catalogue, hashing):
    model = Recommender.fit(catalogue, RecommenderConfig(encoder=EncoderConfig(model="hashing")), encoder=hashing)
    result = model.recommend(Query(user_id="ann", context={"weekday": "sunday"}))
    assert any("no context signal applies" in note for note in result.notes)
    weighted = Recommender.fit(catalogue, RecommenderConfig(encoder=EncoderConfig(model="hashing"),
                                                            context=ContextConfig(time_weight=1.0)), encoder=hashing)  # fmt: skip
    assert "ranked with the request time" in weighted.recommend(Query(user_id="ann", context={"hour": 3})).notes
