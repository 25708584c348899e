"""The configuration of a recommender: one frozen object, saved as ``config.json`` in the artifact."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field, field_validator, model_validator

from semrec.frozen import FrozenConfig
from semrec.ltr.onboarding import OnboardingConfig
from semrec.pipeline.ann import ANNConfig
from semrec.pipeline.context import ContextConfig
from semrec.pipeline.handover import HandoverConfig
from semrec.pipeline.intent import IntentConfig
from semrec.pipeline.textblend import TextBlendConfig
from semrec.scorers import SCORERS, Scorer, scorer_class
from semrec.scorers.described import DescribedUsersConfig
from semrec.text import EncoderConfig, TextTemplateConfig


class RecommenderConfig(FrozenConfig):
    """Everything that defines a fitted recommender.

    The defaults are the configuration that wins semrec's protocols (README, P1-P3): the hybrid
    scorer with the learned new-user (onboarding) ranker.
    """

    scorer: str = "hybrid"
    """Registered scorer name (:data:`semrec.scorers.SCORERS`): ``hybrid``, ``ease``, ``als``,
    ``item-knn``, ``ease-head``, ``sequential-rules``, ``item-conditional``, ``fm``, ``content-profile``,
    ``sasrec``, ``most-popular``. Left unset, catalogues above the hybrid's ``max_items`` get the scalable
    default instead (:func:`semrec.capacity.plan`)."""
    scorer_config: dict[str, Any] = Field(default_factory=dict)
    """Hyper-parameters of the scorer, validated by its ``Config`` (empty: its defaults)."""
    encoder: EncoderConfig = EncoderConfig()
    """Text encoder used for item texts and query texts."""
    text: TextTemplateConfig = TextTemplateConfig()
    """Item row -> text template."""
    context: ContextConfig = ContextConfig()
    """How request-time context (a free-text occasion) moves the ranking."""
    handover: HandoverConfig = HandoverConfig()
    """How a new user's scores move from attributes/popularity to behaviour as interactions arrive
    (for scorers without a new-user model of their own)."""
    text_users: DescribedUsersConfig = DescribedUsersConfig()
    """Text -> behaviour for requests known by their text: the training users' pseudo-descriptions
    (:mod:`semrec.scorers.described`)."""
    intent: IntentConfig = IntentConfig()
    """How the interests a request text names (matched to the catalogue's attribute values) order
    the list, each interest with its share (:mod:`semrec.pipeline.intent`)."""
    text_blend: TextBlendConfig = TextBlendConfig()
    """How much a request's text counts next to its history, by history length
    (:mod:`semrec.pipeline.textblend`)."""
    ann: ANNConfig = ANNConfig()
    """Approximate search of item text vectors for catalogues of at least ``ann.min_items`` items
    (:mod:`semrec.pipeline.ann`; smaller catalogues are searched exactly)."""
    onboarding: OnboardingConfig = OnboardingConfig(enabled=True)
    """Learned ranker for new users with 1 .. ``max_history`` interactions (LightGBM LambdaRank);
    on by default for the hybrid scorer, off for the others."""

    @field_validator("scorer")
    @classmethod
    def _known_scorer(cls, name: str) -> str:
        scorer_class(name)
        return name

    @model_validator(mode="before")
    @classmethod
    def _default_onboarding(cls, data: Any) -> Any:
        """Unless given, the onboarding ranker is on for the hybrid only: other scorers are served as
        they are (e.g. as baselines)."""
        if isinstance(data, dict) and "onboarding" not in data:
            data = {**data, "onboarding": OnboardingConfig(enabled=data.get("scorer", "hybrid") == "hybrid")}
        return data

    def build_scorer(self) -> Scorer:
        """A fresh, unfitted scorer as configured.

        Raises:
            pydantic.ValidationError: ``scorer_config`` does not fit the scorer's ``Config``.
        """
        cls = scorer_class(self.scorer)
        return cls(cls.Config(**self.scorer_config))

    def digest(self) -> str:
        """sha256 of the canonical JSON form."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


__all__ = ["SCORERS", "RecommenderConfig"]
