"""What is evaluated is what is served: the evaluation's lists equal the library's and the HTTP service's."""

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from semrec.config import RecommenderConfig
from semrec.data.tables import Dataset
from semrec.evaluation.runner import evaluate, prepare
from semrec.pipeline import Recommender
from semrec.serving.app import ServiceSettings, create_app
from semrec.serving.live import LiveRecommender
from semrec.serving.store import Store
from semrec.text import EncoderConfig


def synthetic(n_users: int = 80, n_items: int = 40, seed: int = 0) -> Dataset:
    """Two tastes (even / odd items) with timestamps, genres, ages and genders."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        pool = np.arange(u % 2, n_items, 2)
        for t, item in enumerate(rng.choice(pool, 12, replace=False)):
            rows.append((str(u), str(item), float(rng.integers(1, 6)), 1_000_000 + 10_000 * u + 60 * t, "rating"))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp", "event"])
    items = pd.DataFrame(
        {
            "item_id": [str(i) for i in range(n_items)],
            "title": [f"{'Even' if i % 2 == 0 else 'Odd'} film {i}" for i in range(n_items)],
            "genres": ["Comedy|Drama" if i % 2 == 0 else "Horror" for i in range(n_items)],
            "year": [1990 + i % 10 for i in range(n_items)],
        }
    )
    users = pd.DataFrame(
        {
            "user_id": [str(u) for u in range(n_users)],
            "age": rng.integers(15, 70, n_users),
            "gender": np.where(np.arange(n_users) % 2 == 0, "F", "M"),
        }
    )
    return Dataset(items, interactions, users, "synthetic")


@pytest.mark.parametrize("protocol", ["P1", "P2", "P3"])
@pytest.mark.parametrize("scorer", ["hybrid", "ease"])
def test_evaluation_lists_equal_library_and_service_answers(hashing, tmp_path, protocol, scorer):
    data = synthetic()
    config = RecommenderConfig(scorer=scorer, encoder=EncoderConfig(model="hashing"))
    run = prepare(data, protocol)
    model = Recommender.fit(run.train, config, encoder=hashing)
    evaluated = run.lists(model, 10)
    sample = range(0, len(run.queries), max(1, len(run.queries) // 12))
    live = LiveRecommender(
        Recommender.load(model.save(tmp_path / "m"), encoder=hashing),
        Store(f"sqlite:///{tmp_path / 'store.db'}"),
        tmp_path / "m",
    )
    client = TestClient(create_app(live, ServiceSettings(api_key="k" * 16)))
    for row in sample:
        query = run.queries[row].model_copy(update={"k": 10})
        library = model.recommend(query).item_ids.tolist()
        assert run.items.ids[evaluated[row][evaluated[row] >= 0]].tolist() == library
        body = query.model_dump(exclude={"exclude_seen"})
        served = client.post("/recommend", json=body)
        assert served.status_code == 200, served.text
        assert [i["item_id"] for i in served.json()["items"]] == library, (protocol, row)
    # and the report's NDCG is the metric of exactly those lists
    report = evaluate(data, {scorer: config}, protocol, 10, encoder=hashing)
    assert report.results[0].metrics["NDCG"] == pytest.approx(run.metrics(evaluated, 10)["NDCG"])


def test_lightfm_on_identities_ranks_each_group_s_unseen_items_first():
    """Two groups of users, each consuming its own 10 items: the baseline's top 3 are mostly unseen
    items of the user's group (at random about 0.3 of them would be)."""
    import pandas as pd

    from semrec.data.tables import Dataset
    from semrec.evaluation.baselines import lightfm_cf_lists
    from semrec.evaluation.runner import prepare

    rng = np.random.default_rng(0)
    rows = []
    for user in range(60):
        group = user % 2
        for item in rng.choice(10, 7, replace=False):
            rows.append((f"u{user}", f"i{group * 10 + item}"))
    items = pd.DataFrame({"item_id": [f"i{n}" for n in range(20)], "title": [f"t{n}" for n in range(20)]})
    inter = pd.DataFrame(rows, columns=["user_id", "item_id"]).assign(value=1.0, event="interaction")
    inter["timestamp"] = np.arange(len(inter), dtype=np.int64)
    run = prepare(Dataset(items, inter), "random")
    lists = lightfm_cf_lists(run, 5, epochs=30)
    assert lists.shape == (len(run.queries), 5)
    in_group = []
    for user_id, history, top in zip(run.user_ids, run.histories, lists):
        group = int(user_id[1:]) % 2
        assert not set(top) & set(history.tolist())  # seen items removed
        in_group += [group * 10 <= item < group * 10 + 10 for item in top[:3]]
    assert np.mean(in_group) >= 0.75, np.mean(in_group)
