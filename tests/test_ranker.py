import numpy as np
import pandas as pd
import pytest

from semrec.data.tables import Dataset
from semrec.encoders import EncoderConfig
from semrec.handover import HandoverConfig
from semrec.ranker import RankerConfig
from semrec.recommender import Query, Recommender, RecommenderConfig

pytest.importorskip("lightgbm")


def parity_data(n_users: int = 120, n_items: int = 40, seed: int = 0) -> Dataset:
    """Users like items of one parity; each history is a random half of them in random order."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        liked = [i for i in range(n_items) if i % 2 == user % 2]
        for step, item in enumerate(rng.permutation(liked)[: len(liked) // 2 + 4]):
            rows.append((f"u{user}", f"i{item}", 1.0, 1_000_000 + 3600 * (user + step), "click"))
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)],
                          "title": [f"{'even' if i % 2 == 0 else 'odd'} item {i}" for i in range(n_items)]})  # fmt: skip
    return Dataset(items, pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp", "event"]))


def test_ranker_stage_fits_ranks_and_survives_the_artifact(hashing, tmp_path):
    config = RecommenderConfig(encoder=EncoderConfig(model="hashing"), handover=HandoverConfig(enabled=False),
                               ranker=RankerConfig(enabled=True, candidates=10, n_estimators=20, min_child_samples=5, early_stopping_share=0.0))  # fmt: skip
    model = Recommender.fit(parity_data(), config, encoder=hashing)
    result = model.recommend(Query(user_id="u3", k=5, context={"time": 2_000_000}))
    assert result.source == "ranker(ease)" and len(result.item_ids) == 5
    history = set(model.item_vocab.ids[model.history_of("u3")].tolist())
    assert not set(result.item_ids) & history
    assert all(int(i[1:]) % 2 == 1 for i in result.item_ids)  # an odd user gets odd items
    loaded = Recommender.load(model.save(tmp_path / "ranked"))
    again = loaded.recommend(Query(user_id="u3", k=5, context={"time": 2_000_000}))
    assert again.item_ids.tolist() == result.item_ids.tolist() and (tmp_path / "ranked" / "ranker.txt").exists()


def test_ranker_is_off_by_default(catalogue, hashing):
    model = Recommender.fit(catalogue, RecommenderConfig(encoder=EncoderConfig(model="hashing")), encoder=hashing)
    assert model.ranker is None
