"""The accuracy / diversity frontier, served through the pipeline, on data with known answers."""

import json

from semrec.config import RecommenderConfig
from semrec.evaluation.diversity import frontier
from semrec.text import EncoderConfig

EASE = RecommenderConfig(scorer="ease", encoder=EncoderConfig(model="hashing"))


def test_frontier_known_answers_on_the_checkerboard(checker, hashing, tmp_path):
    # every user's unseen same-parity items are its own diagonal item and its test items: EASE's lists
    # hit (HR@3 = 1) and hold one parity only (ILD@3 = 0); diversifying by tags must mix parities
    report = frontier(checker, EASE, ["mmr-tags", "topic"], [0, 1], k=3, encoder=hashing)
    base = report.references[0].metrics
    assert [r.label for r in report.references] == ["ease", "most-popular"]
    assert base["HR"] == 1.0 and base["ILD"] == 0.0
    for point in report.points:
        if point.diversity == 0:
            assert point.metrics == base  # diversity 0 is the relevance order
    mixed = next(p for p in report.points if p.label == "mmr-tags d=1").metrics
    assert mixed["ILD"] > 0.3 and mixed["NDCG"] < base["NDCG"]
    paths = report.write(tmp_path)
    assert json.loads(paths[0].read_text())["base"] == "ease"
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
