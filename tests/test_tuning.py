"""The hybrid chooses its order-dependent hyper-parameters on a validation slice carved the way the
data is used (semrec.scorers.tuning), and keeps what it chose in its fitted state."""

import numpy as np
import pytest

from semrec.scorers import HybridConfig, HybridScorer, TrainData
from semrec.scorers.rules import SequentialRulesConfig
from semrec.scorers.sasrec import SASRecConfig
from semrec.scorers.tuning import carve, choose, ndcg_at_10

N_ITEMS = 60


def chains(n_users=120, length=20, seed=0):
    """Each user walks a ring of items one step at a time from a random start: what comes next is
    exactly the successor of the last item, what is missing anywhere is a neighbour."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(N_ITEMS) + np.arange(length)) % N_ITEMS for _ in range(n_users)]


def test_carve_holds_out_the_last_items_or_random_ones():
    histories = [np.arange(10), np.arange(3), np.arange(20, 40)]
    train, held, rows = carve(histories, "temporal", 0.2, 5, 10)
    assert rows.tolist() == [0, 2] and train[1].tolist() == [0, 1, 2]  # too short: kept whole, not scored
    assert held[0].tolist() == [8, 9] and train[0].tolist() == list(range(8))
    assert held[1].tolist() == [36, 37, 38, 39]
    train, held, rows = carve(histories, "random", 0.2, 5, 10)
    assert len(held[0]) == 2 and sorted([*train[0], *held[0]]) == list(range(10))
    assert held[0].tolist() != [8, 9] or held[1].tolist() != [36, 37, 38, 39]
    with pytest.raises(ValueError, match="temporal"):
        carve(histories, "by-time", 0.2, 5, 10)


def test_ndcg_at_10_known_answers():
    scores = np.tile(np.arange(20, dtype=np.float32)[::-1], (2, 1))  # item 0 first, then 1, ...
    seen = [np.array([0]), np.zeros(0, np.int64)]
    held = [np.array([1]), np.array([1, 30 % 20])]  # user 0: the first unseen item; user 1: ranks 2 and 11
    expected_1 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert ndcg_at_10(scores, seen, held) == pytest.approx((1.0 + expected_1) / 2)


def _ndcg_per_row(scores, seen, held):
    """The definition, one row at a time (what ``ndcg_at_10`` computed before it was vectorised)."""
    scores = scores.copy()
    for row, items in enumerate(seen):
        scores[row, items] = -np.inf
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1), 1)
    discount = 1.0 / np.log2(np.arange(2, 12))
    total = 0.0
    for row, items in enumerate(held):
        total += float(np.isin(top[row], items) @ discount) / float(discount[: min(len(items), 10)].sum())
    return total / len(held)


def test_ndcg_at_10_equals_the_per_row_definition_bit_for_bit():
    """fit picks the grid point with the highest value, first on ties: equal to the last bit, so
    vectorising changed no choice (scores with ties, empty seen lists, more than 10 held items)."""
    rng = np.random.default_rng(1)
    for trial in range(20):
        n, m = int(rng.integers(5, 300)), int(rng.integers(11, 500))
        scores = rng.standard_normal((n, m)).astype(np.float32)
        if trial % 3 == 0:
            scores = np.round(scores, 1)
        seen = [rng.choice(m, rng.integers(0, 5), replace=False) for _ in range(n)]
        held = [rng.choice(m, rng.integers(1, min(30, m)), replace=False) for _ in range(n)]
        for row in range(n):
            scores[row, held[row][: rng.integers(0, 4)]] += 3.0  # some hits near the top
        assert ndcg_at_10(scores, seen, held) == _ndcg_per_row(scores, seen, held), trial


def test_next_item_data_chooses_next_item_rules_and_missing_item_data_does_not_need_them():
    grids = dict(l2_grid=(10.0, 100.0), decay_grid=(1.0, 0.9), short_grid=(0.0, 1.0))
    rules = SequentialRulesConfig()
    temporal = choose(chains(), N_ITEMS, "temporal", short_rules=rules, min_length=5, **grids)
    assert temporal.short_weight == 1.0 and temporal.ndcg > 0.9  # the successor is found every time
    random = choose(chains(), N_ITEMS, "random", short_rules=rules, min_length=5, **grids)
    assert random.ndcg < temporal.ndcg and set(temporal.grid) == set(random.grid)


def test_the_chosen_values_and_the_sequence_model_survive_the_state_round_trip():
    config = HybridConfig(
        warm_at=10, tune_l2=(10.0,), tune_decay=(1.0, 0.9), tune_short=(0.0, 1.0), tune_sequence=(0.0, 1.0),
        sequence=SASRecConfig(loss="ce", hidden=8, epochs=3, max_length=20),
    )  # fmt: skip
    data = TrainData(chains(), N_ITEMS)
    scorer = HybridScorer(config).fit(data)
    assert scorer.choice is not None and scorer.config.short_weight == scorer.choice.short_weight
    assert (scorer.sequence is not None) == (scorer.choice.sequence_weight > 0)
    clone = HybridScorer(config)
    clone.set_state({k: np.array(v) for k, v in scorer.get_state().items()}, N_ITEMS)
    assert clone.config == scorer.config
    assert np.array_equal(clone.score(data.histories[:5]), scorer.score(data.histories[:5]))
    untuned = HybridScorer(config.model_copy(update={"tune": False})).fit(data)
    assert untuned.choice is None and untuned.sequence is None and untuned.config.short_weight == 1.0


def test_random_holdout_fits_no_sequence_model():
    config = HybridConfig(warm_at=10, tune_l2=(10.0,), sequence=SASRecConfig(hidden=8, epochs=1, max_length=20))
    scorer = HybridScorer(config).fit(TrainData(chains(), N_ITEMS, holdout="random"))
    assert scorer.choice.sequence_grid is None and scorer.sequence is None


def test_sasrec_refit_on_the_same_data_is_a_lookup_and_other_data_trains_again():
    from semrec.scorers import sasrec

    config = sasrec.SASRecConfig(hidden=8, epochs=2, max_length=20)
    data = TrainData(chains(), N_ITEMS)
    sasrec._FITTED.clear()
    first = sasrec.SASRecScorer(config).fit(data)
    again = sasrec.SASRecScorer(config).fit(TrainData([h.copy() for h in chains()], N_ITEMS))
    assert len(sasrec._FITTED) == 1
    assert np.array_equal(first.score(data.histories[:4]), again.score(data.histories[:4]))
    other = sasrec.SASRecScorer(config).fit(TrainData(chains(seed=1), N_ITEMS))
    assert len(sasrec._FITTED) == 2 and not np.array_equal(
        other.score(data.histories[:4]), first.score(data.histories[:4])
    )


def test_a_fit_too_small_to_tune_says_so(catalogue, hashing):
    from semrec.config import RecommenderConfig
    from semrec.pipeline import Recommender

    model = Recommender.fit(catalogue, RecommenderConfig(), encoder=hashing)
    assert any("hybrid: not tuned" in note for note in model.fit_notes), model.fit_notes
    assert model.models.scorer.choice is None and model.models.scorer.sequence is None


@pytest.mark.parametrize("chunk", [1, 7, 256])
def test_the_chunked_full_softmax_loss_equals_torch_cross_entropy_and_its_gradients(chunk):
    import torch

    from semrec.scorers.sasrec import full_softmax_ce

    generator = torch.Generator().manual_seed(0)
    states = torch.randn(50, 6, generator=generator, requires_grad=True)
    weight = torch.randn(30, 6, generator=generator, requires_grad=True)
    targets = torch.randint(0, 30, (50,), generator=generator)
    expected = torch.nn.functional.cross_entropy(states @ weight.T, targets)
    expected.backward()
    grads = states.grad.clone(), weight.grad.clone()
    states.grad = weight.grad = None
    loss = full_softmax_ce(states, weight, targets, chunk=chunk)
    loss.backward()
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(states.grad, grads[0], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(weight.grad, grads[1], rtol=1e-5, atol=1e-7)
    # equal scores over 4 items: the loss is log 4
    flat = full_softmax_ce(torch.zeros(1, 2, requires_grad=True), torch.zeros(4, 2), torch.tensor([3]))
    assert float(flat) == pytest.approx(np.log(4))
