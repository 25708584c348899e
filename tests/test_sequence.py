"""Sequential rules, the hybrid and its text-to-behaviour bridge, on data with known answers.

The pipeline-level hybrid tests are in tests/test_pipeline_models.py."""

import numpy as np

from semrec.features import item_features, learn_spec
from semrec.scorers import HybridConfig, HybridScorer, SequentialRulesScorer, TrainData, decayed_matrix
from semrec.scorers.rules import SequentialRulesConfig, sequential_rules
from semrec.vocab import IdVocabulary
from tests.conftest import N_CHECKER, checkerboard
from tests.test_scorers_contract import ordered_histories


def test_sequential_rules_count_gaps_with_decay():
    rules = sequential_rules([np.array([0, 1, 2]), np.array([0, 1])], 4, window=2, gap_decay=0.5, normalise="none")
    expected = np.zeros((4, 4), np.float32)
    expected[0, 1], expected[1, 2], expected[0, 2] = 2.0, 1.0, 0.5  # 0->1 twice; 0->2 two steps apart
    np.testing.assert_array_equal(rules, expected)
    row = sequential_rules([np.array([0, 1, 2])], 3, window=2, gap_decay=0.5, normalise="row")
    np.testing.assert_allclose(row[0], [0, 1 / 2.5, 0.5 / 2.5])  # divided by row sum + 1
    assert sequential_rules([np.array([0, 1, 2])], 3, window=1, gap_decay=1.0, normalise="none")[0, 2] == 0


def test_decayed_matrix_weighs_the_newest_occurrence():
    m = decayed_matrix([np.array([3, 1, 3]), np.array([], dtype=np.int64)], 5, 0.5).toarray()
    np.testing.assert_allclose(m[0], [0, 0.5, 0, 1.0, 0])  # item 3's newest use is the last one
    assert not m[1].any()


def test_sequential_rules_scorer_predicts_what_follows():
    histories = [np.array([0, 1, 2, 3])] * 5 + [np.array([4, 2, 0])] * 2
    scorer = SequentialRulesScorer(SequentialRulesConfig(window=1)).fit(TrainData(histories, 5))
    scores = scorer.score([np.array([0]), np.array([4])])
    assert scores[0].argmax() == 1 and scores[1].argmax() == 2


def checker_data(cold=(38, 39)):
    data = checkerboard()
    items = IdVocabulary(data.items["item_id"])
    users = IdVocabulary([f"u{u}" for u in range(N_CHECKER)], "user")
    inter = data.interactions[~data.interactions["item_id"].isin([f"i{c}" for c in cold])]
    histories = ordered_histories(inter, users, items)
    return TrainData(histories, len(items), None, item_features(data.items, learn_spec(data.items))), histories


def test_bridge_gives_cold_items_the_columns_of_their_kind():
    data, histories = checker_data()
    assert data.item_features.shape == (N_CHECKER, 3)  # genres Even, Numbers, Odd (multi-hot)
    scorer = HybridScorer().fit(data)
    assert scorer.bridged.tolist() == [i in (38, 39) for i in range(N_CHECKER)]
    scores = scorer.score([histories[0], histories[1]])  # an even user, an odd user
    assert scores[0, 38] > scores[0, 39] and scores[1, 39] > scores[1, 38]
    plain = HybridScorer(HybridConfig(bridge=False)).fit(data).score([histories[0]])
    assert plain[0, 38] == plain[0, 39]  # without the bridge the cold items are indistinguishable


def test_hybrid_ramps_from_new_user_to_known_user_scoring():
    scorer = HybridScorer(HybridConfig(warm_from=5, warm_at=15))
    assert [scorer.warm_share(n) for n in (0, 5, 10, 15, 40)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    data, _ = checker_data(cold=())
    scorer.fit(data)
    empty = scorer.score([np.array([], dtype=np.int64)])[0]
    np.testing.assert_allclose(empty, scorer.log_popularity)
