"""The fitted models a pipeline reads (built by :mod:`semrec.training`, saved by :mod:`semrec.io.artifact`)."""

from __future__ import annotations

from dataclasses import dataclass

from semrec.ltr.onboarding import OnboardingRanker
from semrec.scorers import ItemConditionalScorer, MostPopularScorer, Scorer
from semrec.scorers.described import DescribedUsersModel
from semrec.scorers.prior import DemographicPrior, FactorPrior


@dataclass
class Models:
    """The main scorer and the cold-start side models (``None``: not fitted for this catalogue)."""

    scorer: Scorer
    popularity: MostPopularScorer
    conditional: ItemConditionalScorer | None = None
    prior: DemographicPrior | FactorPrior | None = None
    onboarding: OnboardingRanker | None = None
    described: DescribedUsersModel | None = None
