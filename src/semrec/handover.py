"""From attributes to behaviour: how a new user's scores move as interactions arrive.

With ``n`` distinct items in the history:

* ``n = 0``: the prior: attribute-based scores when attributes are known (a factor model over
  attribute features, or per-attribute popularity), else popularity;
* ``0 < n < ramp_end``: ``(1 - w) z(prior) + w z(log P(j | history))`` with ``w = n / (n + n0)``,
  the item-conditional model that keeps popularity in its neighbourhood (few interactions);
* from ``ramp_start`` to ``ramp_end`` that blend hands over linearly to the main scorer (EASE ...),
  which alone scores histories of ``ramp_end`` items or more.

Every weight is continuous in ``n``: there is no cliff at any count.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from semrec.context import standardise
from semrec.demographics import DemographicPrior, FactorPrior
from semrec.scorers import MostPopularScorer, Scorer
from semrec.scorers.models import ConditionalScorer


class HandoverConfig(BaseModel):
    """Hand-over from the prior to behaviour (``enabled=False``: the main scorer for every history)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    n0: float = Field(10.0, gt=0)
    """Interactions at which the prior and the item-conditional model weigh the same."""
    ramp_start: int = Field(10, ge=1)
    """History size where the main scorer starts to take over."""
    ramp_end: int = Field(20, ge=2)
    """History size from which the main scorer alone is used."""

    @model_validator(mode="after")
    def _ordered(self) -> HandoverConfig:
        if self.ramp_end <= self.ramp_start:
            raise ValueError("ramp_end must be greater than ramp_start")
        return self


class Handover:
    """Scores one history (plus attributes) along the hand-over; see the module docstring.

    Args:
        config: The weights.
        main: The fitted main scorer.
        cold: A fitted :class:`~semrec.scorers.models.ConditionalScorer`, or ``None`` (hand-over off).
        prior: Demographic prior, or ``None`` (popularity is the prior).
        popularity: Fitted popularity.
    """

    def __init__(self, config: HandoverConfig, main: Scorer, cold: ConditionalScorer | None,
                 prior: DemographicPrior | FactorPrior | None, popularity: MostPopularScorer) -> None:  # fmt: skip
        self.config, self.main, self.cold, self.prior, self.popularity = config, main, cold, prior, popularity

    def prior_scores(self, attributes: Mapping[str, object], n_items: int) -> tuple[np.ndarray, str]:
        """``((n_items,) float32, source)``: demographic popularity if attributes match, else popularity."""
        if attributes and self.prior is not None:
            scores = self.prior.score(attributes, n_items)
            if scores is not None:
                return scores, "demographic-popularity"
        counts = np.pad(self.popularity.counts, (0, max(0, n_items - len(self.popularity.counts))))
        return np.log1p(counts).astype(np.float32), "most-popular"

    def weights(self, n: int) -> tuple[float, float]:
        """``(w, r)``: behaviour weight inside the cold blend, and the main scorer's share."""
        c = self.config
        return n / (n + c.n0), float(np.clip((n - c.ramp_start) / (c.ramp_end - c.ramp_start), 0.0, 1.0))

    def score(self, history: np.ndarray, main_scores: np.ndarray, attributes: Mapping[str, object],
              n_items: int) -> tuple[np.ndarray, str]:  # fmt: skip
        """Scores for a non-empty history, given the main scorer's ``main_scores``.

        Returns:
            ``((n_items,) float32, source)``; the main scores unchanged once the ramp is complete.
        """
        n = len(np.unique(history))
        if not self.config.enabled or self.cold is None:
            return main_scores, self.main.name
        w, r = self.weights(n)
        if r >= 1.0:
            return main_scores, self.main.name
        prior, _ = self.prior_scores(attributes, n_items)
        known = history[history < self.cold.n_items]
        conditional = self.cold.score([known])[0]
        conditional = np.pad(conditional, (0, n_items - len(conditional)))
        blend = (1 - w) * standardise(prior) + w * standardise(np.log(conditional + 1e-4))
        if r == 0.0:
            return blend.astype(np.float32), "handover"
        return ((1 - r) * blend + r * standardise(main_scores)).astype(np.float32), "handover"
