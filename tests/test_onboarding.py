"""The new-user (onboarding) ranker on data with a known answer: what a new user consumes after
onboarding depends on when they arrive, which no history-only model can see.

The pipeline-level onboarding tests are in tests/test_pipeline_models.py."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from semrec.data.tables import Dataset
from semrec.ltr.lgbm import LambdaRankConfig
from semrec.ltr.onboarding import FEATURES, OnboardingConfig, OnboardingData, OnboardingRanker, release_years
from semrec.scorers import HybridScorer, TrainData
from semrec.vocab import IdVocabulary

DAY = 86_400
POOL, ERA_A, ERA_B = range(20), range(20, 40), range(40, 60)
START = {"A": 1_000_000_000, "B": 1_000_000_000 + 400 * DAY}


def eras(n_users: int = 240, seed: int = 0) -> Dataset:
    """Every user rates 5 items of a shared onboarding pool, then 8 items of its era's catalogue.

    Users of era A arrive in days 0-100, era B in days 400-500. Known answer: a new user arriving
    in era B goes on to era-B items; the onboarding items say nothing about the era.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        era = "A" if user % 2 == 0 else "B"
        start = START[era] + int(rng.integers(0, 100 * DAY))
        later = ERA_A if era == "A" else ERA_B
        first = rng.choice(list(POOL), 5, replace=False)
        rest = rng.choice(list(later), 8, replace=False)
        for step, item in enumerate([*first, *rest]):
            rows.append((f"u{user}", f"i{item}", float(rng.integers(1, 6)), start + 60 * step, "rating"))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp", "event"])
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(60)], "title": [f"film number {i}" for i in range(60)]})
    users = pd.DataFrame({"user_id": [f"u{u}" for u in range(n_users)], "age": [20 + u % 40 for u in range(n_users)]})
    return Dataset(items, interactions, users, "eras")


def onboarding_data(dataset: Dataset) -> tuple[OnboardingData, IdVocabulary]:
    """Histories, times and ratings in (user, timestamp, item position) order, like the pipeline's."""
    items = IdVocabulary(dataset.items["item_id"], "item")
    users = IdVocabulary(dataset.interactions["user_id"].drop_duplicates().tolist(), "user")
    inter = dataset.interactions
    user, item = users.index(inter["user_id"].tolist()), items.index(inter["item_id"].tolist())
    stamps = inter["timestamp"].to_numpy().astype(np.int64)
    order = np.lexsort((item, stamps, user))
    rows = [order[user[order] == u] for u in range(len(users))]
    histories, times = [item[r] for r in rows], [stamps[r] for r in rows]
    values = [inter["value"].to_numpy(dtype=float)[r] for r in rows]
    return OnboardingData(histories, times, values, users.ids.tolist(), dataset.users, len(items)), items


def era_share(lists: list[np.ndarray], era: range) -> float:
    return float(np.mean([np.isin(top, list(era)).mean() for top in lists]))


@pytest.fixture(scope="module")
def fitted():
    dataset = eras()
    data, _ = onboarding_data(dataset)
    return OnboardingRanker.fit(OnboardingConfig(min_child_samples=20), data), data


def test_new_users_get_the_items_of_their_arrival_time(fitted):
    ranker, data = fitted
    rng = np.random.default_rng(1)
    histories = [rng.choice(list(POOL), 5, replace=False) for _ in range(20)]
    lists = {}
    for era in ("A", "B"):
        when = [START[era] + 50 * DAY] * len(histories)
        candidates, scores = ranker.rank(histories, when)
        lists[era] = [c[np.argsort(-s, kind="stable")][:8] for c, s in zip(candidates, scores)]
        assert all(not np.isin(top, h).any() for top, h in zip(lists[era], histories))  # onboarding items excluded
    assert era_share(lists["A"], ERA_A) >= 0.9
    assert era_share(lists["B"], ERA_B) >= 0.9
    # the history-only hybrid cannot tell the eras apart: about half of its list is the wrong era
    hybrid = HybridScorer().fit(TrainData(data.histories, data.n_items)).score(histories)
    hybrid[np.arange(len(histories))[:, None], np.array(histories)] = -np.inf
    top = [np.argsort(-row, kind="stable")[:8] for row in hybrid]
    assert era_share(top, ERA_B) < 0.75 and era_share(top, ERA_A) < 0.75


def test_fit_is_deterministic_and_skips_small_data(fitted):
    ranker, data = fitted
    again = OnboardingRanker.fit(OnboardingConfig(min_child_samples=20), data)
    assert again.model_texts == ranker.model_texts and len(ranker.boosters) == 5
    small = OnboardingData(data.histories[:30], data.times[:30], None, data.user_ids[:30], None, data.n_items)
    assert OnboardingRanker.fit(OnboardingConfig(), small) is None  # min_users 50


def test_state_round_trip_gives_the_same_scores(fitted):
    ranker, _ = fitted
    clone = OnboardingRanker.from_state(ranker.config, ranker.get_state(), ranker.model_texts)
    history = [np.array([0, 3, 5, 7, 9])]
    for a, b in zip(
        ranker.rank(history, [START["B"]], [{"age": 30}]), clone.rank(history, [START["B"]], [{"age": 30}])
    ):
        np.testing.assert_array_equal(a[0], b[0])


def test_rank_rejects_empty_histories_and_mismatched_lengths(fitted):
    ranker, _ = fitted
    with pytest.raises(ValueError, match="at least one interaction"):
        ranker.rank([np.array([], dtype=np.int64)], [START["A"]])
    with pytest.raises(ValueError, match="same length"):
        ranker.rank([np.array([1, 2])], [START["A"], START["B"]])


def test_release_years_reads_four_digit_years():
    items = pd.DataFrame({"year": ["1995", "c. 2001", None, "n/a"]})
    np.testing.assert_array_equal(release_years(items, "year"), [1995, 2001, np.nan, np.nan])
    assert release_years(items, "missing") is None and release_years(items, None) is None


def test_requests_after_the_data_are_scored_as_of_its_end(fitted):
    ranker, data = fitted
    end = max(int(t.max()) for t in data.times)
    history = [np.array([0, 3, 5, 7, 9])]
    far, near = ranker.rank(history, [end + 10_000 * DAY]), ranker.rank(history, [end + 1 + 30 * DAY])
    np.testing.assert_array_equal(far[0][0], near[0][0])
    np.testing.assert_array_equal(far[1][0], near[1][0])


def test_config_shares_the_lambdarank_base_and_drops_the_arrival_time_features():
    config = OnboardingConfig()
    assert isinstance(config, LambdaRankConfig)
    base = LambdaRankConfig()
    assert {k: getattr(config, k) for k in LambdaRankConfig.model_fields} == base.model_dump()
    assert config.features == FEATURES and FEATURES[-1] == "candidate_rank"
    for removed in ("neighbours_z", "neighbours_log", "popularity_window", "popularity_window_z", "days_since_first"):
        assert removed not in FEATURES
        with pytest.raises(ValidationError, match="unknown feature"):
            OnboardingConfig(features=("hybrid", removed))
    with pytest.raises(ValidationError):
        OnboardingConfig(window_days=30.0)
    assert OnboardingConfig(features=("mean_rating", "hybrid")).features == ("hybrid", "mean_rating")
