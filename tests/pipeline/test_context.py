import numpy as np
import pytest

from semrec.config import RecommenderConfig
from semrec.errors import QueryError
from semrec.pipeline import Recommender
from semrec.pipeline.context import ContextConfig, RequestContext, standardise
from semrec.pipeline.handover import HandoverConfig
from semrec.text import EncoderConfig
from semrec.types import Query


def test_parse_time_weekday_and_free_text():
    ctx = RequestContext.parse(
        {"time": "2026-11-29T21:30:00+01:00", "occasion": "rainy Sunday with kids", "device": "tv", "temperature": 12}
    )
    assert (ctx.hour, ctx.weekday) == (20, 6) and ctx.text == "rainy Sunday with kids. device: tv"
    assert RequestContext.parse({"timestamp": 0}).weekday == 3  # 1970-01-01 was a Thursday
    assert RequestContext.parse({"weekday": "Sat", "hour": "7"}) == RequestContext(7, 5, None)
    for bad in ({"time": "yesterday"}, {"hour": 25}, {"weekday": "someday"}):
        with pytest.raises(QueryError):
            RequestContext.parse(bad)


def test_standardise_ignores_blocked_items():
    out = standardise(np.array([1.0, 3.0, -np.inf], dtype=np.float32))
    assert out[:2].tolist() == [-1.0, 1.0] and np.isneginf(out[2])


def test_occasion_text_changes_a_users_list_and_is_explained(catalogue, hashing):
    config = RecommenderConfig(
        scorer="ease",
        scorer_config={"l2": 1.0},
        encoder=EncoderConfig(model="hashing"),
        context=ContextConfig(text_weight=2.0),
        handover=HandoverConfig(enabled=False),
    )
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


def test_a_time_only_context_is_recorded_and_said_so(catalogue, hashing):
    config = RecommenderConfig(scorer="ease", encoder=EncoderConfig(model="hashing"))
    model = Recommender.fit(catalogue, config, encoder=hashing)
    result = model.recommend(Query(user_id="ann", context={"weekday": "sunday"}))
    assert any("no context signal applies" in note for note in result.notes)
    assert result.item_ids.tolist() == model.recommend(Query(user_id="ann")).item_ids.tolist()
