"""From attributes to behaviour: how a new user's scores move as interactions arrive.

A score combinator over two sources, for main scorers without a new-user model of their own
(the hybrid and the onboarding ranker model short histories themselves). With ``n`` distinct
items in the history:

* ``0 < n < ramp_end``: the cold-start blend ``(1 - w) z(prior) + w z(log P(j | history))`` with
  ``w = n / (n + n0)``: the prior (attribute scores when the request's attributes are known, else
  popularity) and the item-conditional model, which keeps popularity in its neighbourhood;
* from ``ramp_start`` to ``ramp_end`` the blend hands over linearly to the main scorer, which
  alone scores histories of ``ramp_end`` items or more.

Every weight is continuous in ``n``: there is no cliff at any count. Empty histories are not
scored here (NaN): the fallback chain answers them from text, attributes or popularity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from semrec.frozen import FrozenConfig
from semrec.pipeline.context import standardise
from semrec.pipeline.request import Request
from semrec.pipeline.sources import AttributeSource, BehaviourSource, PopularSource, Source
from semrec.scorers import ItemConditionalScorer


class HandoverConfig(FrozenConfig):
    """Hand-over from the prior to behaviour (``enabled=False``: the main scorer for every history)."""

    enabled: bool = True
    n0: PositiveFloat = 10.0
    """Interactions at which the prior and the item-conditional model weigh the same."""
    ramp_start: PositiveInt = 10
    """History size where the main scorer starts to take over."""
    ramp_end: int = Field(20, ge=2)
    """History size from which the main scorer alone is used."""

    @model_validator(mode="after")
    def _ordered(self) -> HandoverConfig:
        if self.ramp_end <= self.ramp_start:
            raise ValueError("ramp_end must be greater than ramp_start")
        return self

    def weights(self, n: int) -> tuple[float, float]:
        """``(w, r)``: behaviour weight inside the cold-start blend, and the main scorer's share."""
        ramp = (n - self.ramp_start) / (self.ramp_end - self.ramp_start)
        return n / (n + self.n0), float(np.clip(ramp, 0.0, 1.0))


class Handover(Source):
    """Blend of the cold-start model and the main scorer along the ramp; see the module docstring.

    Args:
        config: The weights.
        main: The main scorer's source.
        conditional: The fitted item-conditional model.
        attributes: The attribute prior's source, or ``None`` (popularity is the prior).
        popularity: The popularity source.
    """

    name = "handover"

    def __init__(
        self,
        config: HandoverConfig,
        main: BehaviourSource,
        conditional: ItemConditionalScorer,
        attributes: AttributeSource | None,
        popularity: PopularSource,
    ) -> None:
        self.config, self.main, self.conditional = config, main, conditional
        self.attributes, self.popularity = attributes, popularity

    def _share(self, request: Request) -> tuple[float, float]:
        return self.config.weights(len(np.unique(request.history)))

    def label(self, request: Request) -> str:
        return self.main.name if self._share(request)[1] >= 1.0 else self.name

    def score(self, requests: Sequence[Request]) -> np.ndarray:
        out = self.main.score(requests)
        rows = [r for r, q in enumerate(requests) if len(q.history) and self._share(q)[1] < 1.0]
        if not rows:
            return out
        sub = [requests[r] for r in rows]
        prior = self.popularity.score(sub)
        if self.attributes is not None:
            by_attributes = self.attributes.score(sub)
            known = ~np.isnan(by_attributes).all(axis=1)
            prior[known] = by_attributes[known]
        n_fitted = self.conditional.fitted_n_items()
        conditional = self.conditional.score([q.history[q.history < n_fitted] for q in sub])
        conditional = np.pad(conditional, ((0, 0), (0, out.shape[1] - n_fitted)))
        for n, row in enumerate(rows):
            w, r = self._share(sub[n])
            blend = (1 - w) * standardise(prior[n]) + w * standardise(np.log(conditional[n] + 1e-4))
            out[row] = blend if r == 0.0 else (1 - r) * blend + r * standardise(out[row])
        return out
