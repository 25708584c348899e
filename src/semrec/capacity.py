"""Capacity planning: fit a catalogue of any size, or refuse early and say what to use instead.

The models that win semrec's MovieLens protocols hold dense ``(n_items, n_items)`` item-item
matrices (EASE, the hybrid's rules and bridge, the item-conditional model, the onboarding
ranker's copy of the hybrid): fitting the hybrid peaks at 5.8 GiB for 10,000 items, and 271,000
items (Book-Crossing) would need 274 GiB per float32 matrix. :func:`plan` runs before any expensive
step (encoding included) and:

* keeps the configuration when the catalogue fits every dense model in it;
* when the scorer was **not chosen** (the library default) and the catalogue is larger than its
  ``max_items``: switches to :data:`LARGE_CATALOGUE_SCORER`, whose dense part is bounded by a fixed head of
  the catalogue, and turns the onboarding ranker off; each change is a note;
* when the scorer **was chosen**, refuses with a :class:`~semrec.errors.UsageError` that gives the
  memory it would need and the scalable scorers to use instead.

Attribute vocabularies are capped the same way (:data:`semrec.scorers.described.MAX_VALUES`): a
column with more distinct values than that (Book-Crossing's 102k authors) is not a vocabulary of
interests, and the intent stage and the described-users route
(:func:`semrec.scorers.described.attribute_values`) skip it rather than hold a
``(n_values, n_items)`` matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from semrec.config import RecommenderConfig
from semrec.errors import UsageError
from semrec.scorers import scorer_class

LARGE_CATALOGUE_SCORER = "ease-head"
"""The default scorer above the default's ``max_items``: EASE on the 15,000 most interacted items
(:class:`~semrec.scorers.large.HeadEASEScorer`; memory fixed by the head, not the catalogue). On
Book-Crossing's ``random-validation`` (``benchmarks/scale.py --book-crossing --validation``):
NDCG@10 0.0369 against ALS 0.0242, item-kNN 0.0099 and MostPopular 0.0124."""
SCALABLE_SCORERS = ("ease-head", "als", "item-knn", "most-popular", "content-profile")
"""Scorers with no dense item-item matrix (what a refusal suggests)."""
ONBOARDING_MAX_ITEMS = 10_000
"""The onboarding ranker keeps a hybrid of its own (dense): off above this many items."""


@dataclass
class Plan:
    """The configuration to fit and why it differs from the one asked for."""

    config: RecommenderConfig
    notes: list[str] = field(default_factory=list)


def dense_limit(config: RecommenderConfig) -> int | None:
    """The scorer's ``max_items`` (``None``: no dense item-item matrix, any size fits)."""
    cls = scorer_class(config.scorer)
    limit = getattr(cls.Config(**config.scorer_config), "max_items", None)
    return None if limit is None else int(limit)


def dense_gib(n_items: int, matrices: int = 1) -> float:
    """GiB of ``matrices`` dense ``(n_items, n_items)`` float32 matrices."""
    return matrices * n_items * n_items * 4 / 2**30


def plan(config: RecommenderConfig, n_items: int) -> Plan:
    """The configuration that fits ``n_items``; see the module docstring.

    Raises:
        UsageError: The chosen scorer holds a dense item-item matrix and ``n_items`` exceeds its
            ``max_items``; the message names the memory needed and what to use instead.
    """
    notes: list[str] = []
    limit = dense_limit(config)
    if limit is not None and n_items > limit:
        need = dense_gib(n_items)
        if "scorer" in config.model_fields_set:
            raise UsageError(
                f"{config.scorer} holds dense (n_items x n_items) matrices: {need:,.0f} GiB each for "
                f"{n_items:,} items (its max_items is {limit:,}); use --scorer "
                f"{', '.join(SCALABLE_SCORERS[:3])} (no matrix quadratic in the catalogue)"
            )
        notes.append(
            f"{n_items:,} items > {limit:,} (the max_items of the default scorer {config.scorer}, "
            f"{need:,.0f} GiB per dense item-item matrix): fitting {LARGE_CATALOGUE_SCORER} instead "
            "(choose with --scorer)"
        )
        config = config.model_copy(update={"scorer": LARGE_CATALOGUE_SCORER, "scorer_config": {}})
    if config.onboarding.enabled and n_items > ONBOARDING_MAX_ITEMS:
        notes.append(
            f"onboarding ranker off: it keeps a dense hybrid of its own ({n_items:,} items > {ONBOARDING_MAX_ITEMS:,})"
        )
        config = config.model_copy(update={"onboarding": config.onboarding.model_copy(update={"enabled": False})})
    return Plan(config, notes)
