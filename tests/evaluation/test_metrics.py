import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semrec.evaluation.metrics import coverage, intra_list_diversity, novelty, ranking_metrics


def test_known_answers():
    recommended = np.array([[5, 1, 7, -1], [2, 3, 4, 6]])
    relevant = [np.array([1, 9]), np.array([8])]
    m = ranking_metrics(recommended, relevant, k=3)
    assert m["NDCG"][0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert m["Recall"].tolist() == [0.5, 0.0]
    assert m["HR"].tolist() == [1.0, 0.0]
    assert m["MRR"].tolist() == [0.5, 0.0]
    assert m["Precision"][0] == pytest.approx(1 / 3)


def test_catalogue_metrics():
    recommended = np.array([[0, 1], [1, 2]])
    assert coverage(recommended, 10) == pytest.approx(0.3)
    tags = [frozenset({"a"}), frozenset({"a", "b"}), frozenset()]
    assert intra_list_diversity(recommended, tags).tolist() == pytest.approx([0.5, 1.0])
    counts = np.array([3, 0, 1])  # shares (c+1)/(4+3)
    assert novelty(np.array([[0, 1]]), counts)[0] == pytest.approx((-math.log2(4 / 7) - math.log2(1 / 7)) / 2)


def test_user_without_relevant_items_is_an_error():
    with pytest.raises(ValueError, match="at least one relevant"):
        ranking_metrics(np.array([[1]]), [np.array([], dtype=int)], k=1)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_bounds_and_perfect_ranking(data):
    n_items = data.draw(st.integers(5, 30))
    k = data.draw(st.integers(1, 5))
    relevant = np.array(data.draw(st.lists(st.integers(0, n_items - 1), min_size=1, max_size=8, unique=True)))
    ranking = np.array(data.draw(st.permutations(list(range(n_items)))))[None, :]
    m = ranking_metrics(ranking, [relevant], k)
    for values in m.values():
        assert 0.0 <= values[0] <= 1.0 + 1e-12
    perfect = np.concatenate([relevant, np.setdiff1d(np.arange(n_items), relevant)])[None, :]
    best = ranking_metrics(perfect, [relevant], k)
    assert best["NDCG"][0] == pytest.approx(1.0) and best["NDCG"][0] >= m["NDCG"][0] - 1e-12


def test_cross_check_with_ranx():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(0)
    n_users, n_items, k = 60, 50, 10
    recommended = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    relevant = [rng.choice(n_items, size=rng.integers(1, 15), replace=False) for _ in range(n_users)]
    qrels = ranx.Qrels({f"u{u}": {f"i{i}": 1 for i in rel} for u, rel in enumerate(relevant)})
    run = ranx.Run({f"u{u}": {f"i{i}": float(k - r) for r, i in enumerate(row)} for u, row in enumerate(recommended)})
    theirs = ranx.evaluate(qrels, run, ["ndcg@10", "recall@10", "mrr@10", "hit_rate@10", "precision@10"])
    ours = ranking_metrics(recommended, relevant, k)
    assert ours["NDCG"].mean() == pytest.approx(theirs["ndcg@10"], abs=1e-12)
    assert ours["Recall"].mean() == pytest.approx(theirs["recall@10"], abs=1e-12)
    assert ours["MRR"].mean() == pytest.approx(theirs["mrr@10"], abs=1e-12)
    assert ours["HR"].mean() == pytest.approx(theirs["hit_rate@10"], abs=1e-12)
    assert ours["Precision"].mean() == pytest.approx(theirs["precision@10"], abs=1e-12)
