"""Contract tests every scorer must pass (in the spirit of implicit's RecommenderBaseTestMixin)."""

import numpy as np
import pytest

from semrec.errors import NotFittedError
from semrec.scorers import SCORERS, TrainData, scorer_class
from semrec.vocab import IdVocabulary
from tests.conftest import N_CHECKER, checkerboard

ALL = sorted(SCORERS)
PERSONALISED = [name for name in ALL if name != "most-popular"]
ORDER_ONLY = {
    "sequential-rules",
    "sasrec",
}  # predict what follows: the checkerboard's held-out item never follows anything


def ordered_histories(interactions, users: IdVocabulary, items: IdVocabulary) -> list[np.ndarray]:
    """Each user's item positions by (timestamp, item position), like the pipeline orders them."""
    user = users.index(interactions["user_id"].tolist())
    item = items.index(interactions["item_id"].tolist())
    order = np.lexsort((item, interactions["timestamp"].to_numpy().astype(np.int64), user))
    return [item[order][user[order] == u] for u in range(len(users))]


def train_data(dataset, encoder):
    items = IdVocabulary(dataset.items["item_id"])
    users = IdVocabulary([f"u{u}" for u in range(N_CHECKER)], "user")
    histories = ordered_histories(dataset.interactions, users, items)
    embeddings = encoder.encode(dataset.items["title"].tolist())
    return TrainData(histories, len(items), embeddings)


QUICK = {"sasrec": {"epochs": 20}}  # the checkerboard is learnt long before the paper's 200 epochs


def fitted(name, data, **config):
    cls = scorer_class(name)
    return cls(cls.Config(**{**QUICK.get(name, {}), **config})).fit(data)


@pytest.fixture(scope="module")
def data():
    from semrec.text import HashingEncoder

    return train_data(checkerboard(), HashingEncoder())


@pytest.mark.parametrize("name", sorted(set(PERSONALISED) - ORDER_ONLY))
def test_checkerboard_oracle_heldout_diagonal_ranks_first(name, data):
    scorer = fitted(name, data)
    scores = scorer.score(data.histories)
    assert scores.shape == (N_CHECKER, N_CHECKER) and scores.dtype == np.float32
    for user, history in enumerate(data.histories):
        unseen = np.setdiff1d(np.arange(N_CHECKER), history)
        best = unseen[np.argmax(scores[user, unseen])]
        assert best == user, f"{name}: user {user} got item {best}"


def test_most_popular_known_counts(checker, hashing):
    data = train_data(checker, hashing)
    data.histories[0] = np.concatenate([data.histories[0], [1, 1]])  # repeats count once
    scorer = fitted("most-popular", data)
    expected = np.bincount(np.concatenate([np.unique(h) for h in data.histories]), minlength=N_CHECKER)
    assert np.array_equal(scorer.score([np.zeros(0, np.int64)])[0], expected.astype(np.float32))


@pytest.mark.parametrize("name", ALL)
def test_state_round_trip_gives_identical_scores(name, data):
    scorer = fitted(name, data)
    clone = scorer_class(name)(scorer.config)
    state = {k: np.array(v) for k, v in scorer.get_state().items()}
    clone.set_state(state, data.n_items)
    clone.bind_embeddings(data.item_embeddings)
    assert np.array_equal(scorer.score(data.histories[:7]), clone.score(data.histories[:7]))


@pytest.mark.parametrize("name", ALL)
def test_batch_equals_single(name, data):
    scorer = fitted(name, data)
    batch = scorer.score(data.histories[:5])
    for row in range(5):
        assert np.allclose(batch[row], scorer.score([data.histories[row]])[0], atol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_refit_is_deterministic(name, data):
    from semrec.scorers import sasrec

    first = fitted(name, data).score(data.histories[:3])
    sasrec._FITTED.clear()  # SASRec keeps its last fits: the refit must train again to be tested
    assert np.array_equal(first, fitted(name, data).score(data.histories[:3]))


@pytest.mark.parametrize("name", ALL)
def test_empty_history_and_new_user_fold_in(name, data):
    scorer = fitted(name, data)
    scores = scorer.score([np.zeros(0, np.int64), np.array([0, 2, 4])])
    assert np.isfinite(scores).all()
    if name != "most-popular":  # a new user who likes even items gets an even item first
        unseen = np.setdiff1d(np.arange(N_CHECKER), [0, 2, 4])
        assert unseen[np.argmax(scores[1, unseen])] % 2 == 0


@pytest.mark.parametrize("name", ALL)
def test_default_construction_config_round_trip_and_validation(name, data):
    cls = scorer_class(name)
    scorer = cls()
    assert cls.Config.model_validate_json(scorer.config.model_dump_json()) == scorer.config
    with pytest.raises(NotFittedError):
        scorer.score([np.array([0])])
    scorer.fit(data)
    with pytest.raises(ValueError, match="out of range"):
        scorer.score([np.array([N_CHECKER])])
    with pytest.raises(TypeError):
        cls(object())


def test_unknown_scorer_name():
    with pytest.raises(ValueError, match="choose from"):
        scorer_class("svd++")


@pytest.mark.parametrize("name", ["ease", "item-conditional"])
def test_dense_models_refuse_huge_catalogues(name, data):
    with pytest.raises(ValueError, match="max_items"):
        fitted(name, data, max_items=10)


def test_item_conditional_model_is_registered_under_one_name():
    from semrec.scorers import ItemConditionalScorer

    assert scorer_class("item-conditional") is ItemConditionalScorer
    assert not {"item-cond", "cold", "conditional"} & set(SCORERS)
