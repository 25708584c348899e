"""The accuracy / diversity frontier, served through the pipeline, on data with known answers."""

import json

import numpy as np
import pandas as pd

from semrec.config import RecommenderConfig
from semrec.data.tables import Dataset
from semrec.evaluation.diversity import frontier
from semrec.pipeline.handover import HandoverConfig
from semrec.text import EncoderConfig
from tests.conftest import checkerboard

EASE = RecommenderConfig(
    scorer="ease",
    scorer_config={"l2": 1.0},
    encoder=EncoderConfig(model="hashing"),
    handover=HandoverConfig(enabled=False),
)


def shuffled_checkerboard(n: int = 40) -> Dataset:
    """The checkerboard with each user's interactions in a random order, so P1 holds out random items."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(n):
        items = [i for i in range(n) if i % 2 == user % 2 and i != user]
        for stamp, item in enumerate(rng.permutation(items)):
            rows.append((f"u{user}", f"i{item}", 1.0, stamp, "click"))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp", "event"])
    return Dataset(checkerboard(n).items, interactions, None, "shuffled checkerboard")


def test_frontier_known_answers_on_the_checkerboard(hashing, tmp_path):
    # EASE's Gram matrix is block-diagonal by parity, so a user's same-parity unseen items (its
    # diagonal item and its 3 test items) score above every other item: each top-3 holds a test item
    # (HR@3 = 1) and one parity only (ILD@3 = 0). Diversifying by tags must mix the parities.
    report = frontier(shuffled_checkerboard(), EASE, ["mmr-tags", "topic"], [0, 1], k=3, encoder=hashing)
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
