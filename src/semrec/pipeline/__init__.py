"""The recommendation pipeline (see :mod:`semrec.pipeline.recommender`).

The package exports :class:`Recommender` and :class:`Models` lazily, so low-level modules
(the model packages) can import single components (e.g. :mod:`semrec.pipeline.topk`) without
loading the whole assembly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from semrec.pipeline.models import Models
    from semrec.pipeline.recommender import Recommender

__all__ = ["Models", "Recommender"]


def __getattr__(name: str) -> Any:
    if name == "Models":
        from semrec.pipeline.models import Models

        return Models
    if name == "Recommender":
        from semrec.pipeline.recommender import Recommender

        return Recommender
    raise AttributeError(f"module 'semrec.pipeline' has no attribute {name!r}")
