"""The recommendation pipeline (see :mod:`semrec.pipeline.recommender`)."""

from semrec.pipeline.recommender import Models, Recommender

__all__ = ["Models", "Recommender"]
