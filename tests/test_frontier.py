import json

import pytest

from semrec.evaluation.diversity import frontier
from semrec.evaluation.runner import evaluate, prepare
from semrec.scorers import EASEScorer, MostPopularScorer


@pytest.fixture
def prepared(checker, hashing):
    return prepare(checker, "P1", hashing)


def test_frontier_zero_diversity_equals_the_base_and_files_are_written(prepared, checker, tmp_path):
    report = frontier(prepared, EASEScorer(), [MostPopularScorer()], ["mmr", "mmr-tags", "calibrated"], [0, 0.5, 1],
                      prepared.data.item_embeddings, checker.items["genres"].tolist(), k=3, pool=10)  # fmt: skip
    base = report.references[0].metrics
    assert [r.label for r in report.references] == ["ease", "most-popular"]
    assert base == evaluate(checker, [EASEScorer()], "P1", 3).results[0].metrics
    for point in report.points:
        assert 0 <= point.metrics["ILD"] <= 1 and 0 <= point.metrics["NDCG"] <= 1
        if point.diversity == 0:
            assert point.metrics == base
    tags_one = next(p for p in report.points if p.label == "mmr-tags d=1").metrics
    assert tags_one["ILD"] >= base["ILD"]
    paths = report.write(tmp_path)
    assert json.loads(paths[0].read_text())["base"] == "ease"
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pool_must_hold_k(prepared, checker):
    with pytest.raises(ValueError, match="pool"):
        frontier(prepared, EASEScorer(), [], ["mmr"], [0.5], prepared.data.item_embeddings,
                 checker.items["genres"].tolist(), k=10, pool=5)  # fmt: skip


def test_prepare_matches_evaluate(prepared, checker):
    report = evaluate(checker, [EASEScorer()], "P1", 3)
    scorer = EASEScorer().fit(prepared.data)
    from semrec.evaluation.runner import rank_users

    lists = rank_users(scorer, prepared.histories, 3, len(prepared.items))
    assert prepared.metrics(lists, 3) == report.results[0].metrics
