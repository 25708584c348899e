"""Attribute priors: each one names itself (the pipeline labels answers by it) and round-trips its state."""

import numpy as np
import pandas as pd
import pytest

from semrec.scorers.prior import AttributedHistories, DemographicPrior, FactorPrior, fit_prior, prior_from_state


def users_and_histories():
    """Users aged 20-29 consume items 0-4, users aged 50-59 items 5-9."""
    ids = [f"u{u}" for u in range(40)]
    ages = [20 + u % 10 if u % 2 == 0 else 50 + u % 10 for u in range(40)]
    histories = [np.arange(0, 5) if u % 2 == 0 else np.arange(5, 10) for u in range(40)]
    return pd.DataFrame({"user_id": ids, "age": ages, "occupation": ["x"] * 40}), ids, histories


def test_prior_names():
    assert DemographicPrior.name == "demographic-popularity"
    assert FactorPrior.name == "attribute-factors"


def test_demographic_prior_knows_the_age_groups_and_round_trips():
    users, ids, histories = users_and_histories()
    prior = DemographicPrior.fit(AttributedHistories(users, ids, histories, 10))
    assert prior.name == "demographic-popularity"
    young, old = prior.score({"age": 22}, 10), prior.score({"age": 55}, 10)
    assert young[:5].min() > young[5:].max() and old[5:].min() > old[:5].max()
    assert prior.score({}, 10) is None
    np.testing.assert_array_equal(prior_from_state(prior.state()).score({"age": 22}, 10), young)


def test_fit_prior_picks_the_factor_prior_when_lightfm_is_installed():
    pytest.importorskip("lightfm")
    users, ids, histories = users_and_histories()
    prior = fit_prior(AttributedHistories(users, ids, histories, 10))
    assert isinstance(prior, FactorPrior) and prior.name == "attribute-factors"
    clone = prior_from_state(prior.state())
    assert isinstance(clone, FactorPrior)
    np.testing.assert_array_equal(clone.score({"age": 22}, 10), prior.score({"age": 22}, 10))
