"""Scorers (models) and their registry."""

from __future__ import annotations

from semrec.scorers.base import History, Scorer, TrainData, histories_to_csr, recency_weights
from semrec.scorers.models import (
    ALSScorer,
    ConditionalScorer,
    ContentProfileScorer,
    EASEScorer,
    ItemKNNScorer,
    MostPopularScorer,
)
from semrec.scorers.fm import FMScorer
from semrec.scorers.sequence import HybridScorer, SequentialRulesScorer

SCORERS: dict[str, type[Scorer]] = {
    cls.name: cls for cls in (MostPopularScorer, ContentProfileScorer, EASEScorer, ALSScorer, ItemKNNScorer, ConditionalScorer,
                      SequentialRulesScorer, HybridScorer, FMScorer)
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
    "SCORERS", "ALSScorer", "ConditionalScorer", "ContentProfileScorer", "EASEScorer", "FMScorer", "History", "HybridScorer",
    "ItemKNNScorer", "MostPopularScorer", "SequentialRulesScorer",
    "Scorer", "TrainData", "histories_to_csr", "recency_weights", "scorer_class",
]  # fmt: skip
