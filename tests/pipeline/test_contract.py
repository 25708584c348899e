"""Every scorer, served through the pipeline, keeps the pipeline contract on every route."""

import numpy as np
import pytest

from semrec.config import RecommenderConfig
from semrec.pipeline import Recommender
from semrec.scorers import SCORERS
from semrec.testing import check_pipeline
from semrec.text import EncoderConfig

HASHING = EncoderConfig(model="hashing")


@pytest.mark.parametrize("scorer", sorted(SCORERS))
def test_every_scorer_keeps_the_pipeline_contract(with_users, hashing, tmp_path, scorer):
    model = Recommender.fit(with_users, RecommenderConfig(scorer=scorer, encoder=HASHING), encoder=hashing)
    check_pipeline(model, tmp_path)


def test_contract_holds_without_hand_over_and_without_users(catalogue, hashing, tmp_path):
    from semrec.pipeline.handover import HandoverConfig

    config = RecommenderConfig(scorer="ease", encoder=HASHING, handover=HandoverConfig(enabled=False))
    check_pipeline(Recommender.fit(catalogue, config, encoder=hashing), tmp_path)


def test_the_contract_catches_a_broken_pipeline(with_users, hashing, tmp_path):
    """The kit must fail on a pipeline that ignores exclusions (it is not a test that cannot fail)."""
    model = Recommender.fit(with_users, RecommenderConfig(scorer="ease", encoder=HASHING), encoder=hashing)

    def nothing_blocked(request):
        return np.zeros(len(model.catalogue), dtype=bool)

    model.lists.selector.blocked = nothing_blocked
    with pytest.raises(AssertionError, match="ineligible item|items, expected"):
        check_pipeline(model, tmp_path)
