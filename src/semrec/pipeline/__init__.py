"""The recommendation pipeline (see :mod:`semrec.pipeline.recommender`).

The package exports :class:`Recommender` and :class:`Models` lazily, so low-level modules
(the model packages) can import single components (e.g. :mod:`semrec.pipeline.topk`) without
loading the whole assembly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from semrec.pipeline.recommender import Models, Recommender

__all__ = ["Models", "Recommender"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from semrec.pipeline import recommender

        return getattr(recommender, name)
    raise AttributeError(f"module 'semrec.pipeline' has no attribute {name!r}")
