"""Scorers (models), one a module, and their registry.

Every model implements :class:`~semrec.scorers.base.Scorer`: it fits on interactions and scores
every item for request-time histories (fold-in). Attribute priors for users without a history
live in :mod:`semrec.scorers.prior`.
"""

from __future__ import annotations

from semrec.scorers.als import ALSScorer
from semrec.scorers.base import (
    History,
    Scorer,
    TrainData,
    cooccurrence,
    histories_to_csr,
    recency_weights,
    sparse_times_dense,
    standardise_rows,
)
from semrec.scorers.conditional import ItemConditionalScorer
from semrec.scorers.content import ContentProfileScorer, content_profiles
from semrec.scorers.ease import EASEScorer
from semrec.scorers.fm import FMScorer
from semrec.scorers.hybrid import HybridConfig, HybridScorer
from semrec.scorers.knn import ItemKNNScorer
from semrec.scorers.large import HeadEASEScorer
from semrec.scorers.popular import MostPopularScorer
from semrec.scorers.rules import SequentialRulesScorer, decayed_matrix
from semrec.scorers.sasrec import SASRecScorer

SCORERS: dict[str, type[Scorer]] = {
    cls.name: cls
    for cls in (
        MostPopularScorer,
        ContentProfileScorer,
        EASEScorer,
        ALSScorer,
        ItemKNNScorer,
        HeadEASEScorer,
        ItemConditionalScorer,
        SequentialRulesScorer,
        HybridScorer,
        FMScorer,
        SASRecScorer,
    )
}
"""Registry: scorer name (as used by the CLI and configs) -> class."""


def scorer_class(name: str) -> type[Scorer]:
    """The scorer class registered as ``name``.

    Raises:
        ValueError: Unknown name; the message lists the known ones.
    """
    try:
        return SCORERS[name]
    except KeyError:
        raise ValueError(f"unknown scorer {name!r}; choose from {', '.join(SCORERS)}") from None


__all__ = [
    "SCORERS",
    "ALSScorer",
    "ContentProfileScorer",
    "EASEScorer",
    "FMScorer",
    "HeadEASEScorer",
    "History",
    "HybridConfig",
    "HybridScorer",
    "ItemConditionalScorer",
    "ItemKNNScorer",
    "MostPopularScorer",
    "Scorer",
    "SequentialRulesScorer",
    "TrainData",
    "content_profiles",
    "cooccurrence",
    "decayed_matrix",
    "histories_to_csr",
    "recency_weights",
    "scorer_class",
    "sparse_times_dense",
    "standardise_rows",
]
