"""Learning to rank: LightGBM LambdaRank rankers over candidates (:mod:`semrec.ltr.lgbm`), and the
new-user onboarding ranker built on it (:mod:`semrec.ltr.onboarding`)."""

from __future__ import annotations

from semrec.ltr.lgbm import LambdaRankConfig, fit_lambdarank, load_boosters, predict_standardised
from semrec.ltr.onboarding import (
    FEATURES,
    OnboardingConfig,
    OnboardingData,
    OnboardingRanker,
    OnboardingSignals,
    release_years,
    user_attributes,
)

__all__ = [
    "FEATURES",
    "LambdaRankConfig",
    "OnboardingConfig",
    "OnboardingData",
    "OnboardingRanker",
    "OnboardingSignals",
    "fit_lambdarank",
    "load_boosters",
    "predict_standardised",
    "release_years",
    "user_attributes",
]
