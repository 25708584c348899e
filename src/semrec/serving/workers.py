"""Several worker processes behind one port (``semrec serve --workers N``).

uvicorn starts ``N`` processes that each call :func:`app_factory`, which reads the service's
settings from the environment variable :data:`ENV` (set by ``semrec serve``) and serves the
artifact in shared mode (:class:`~semrec.serving.live.LiveRecommender` ``shared=True``): the
store is the truth, nothing user-specific is cached in a process, and every process follows the
changes of the others through the store's ``generation`` counter. The same mode serves replicas
on several machines that share one PostgreSQL store and one artifact folder.

The parent process (``semrec serve``) seeds the store before the workers start, and runs the
scheduled retrain (``--retrain-every``) itself, so one refit happens per period, not one per
worker; the workers load the new artifact on their next request. The write rate limit is shared out:
each of the ``N`` workers allows ``write_rate / N`` (the kernel spreads a client's connections over
them), so a client's limit is about the configured one whatever ``N``.
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI

ENV = "SEMREC_SERVE_SPEC"
"""JSON ``{"model": folder, "db": store URL, "settings": ServiceSettings fields, "workers": N}``."""


def live_recommender(model: str, db: str, shared: bool, llm=None):
    """The artifact in ``model`` over the store at ``db`` (with the default embedding cache), with
    the optional LLM stages of ``llm`` (an :class:`~semrec.llm.LLMConfig`)."""
    from semrec.data.fetch import cache_root
    from semrec.pipeline import Recommender
    from semrec.serving.live import LiveRecommender
    from semrec.serving.store import Store
    from semrec.text import EmbeddingCache

    cache = EmbeddingCache(cache_root() / "embeddings")
    return LiveRecommender(Recommender.load(model), Store(db), model, embedding_cache=cache, shared=shared, llm=llm)


def app_factory() -> FastAPI:
    """One worker's application (uvicorn ``factory=True``)."""
    from semrec.serving.app import ServiceSettings, create_app

    spec = json.loads(os.environ[ENV])
    from semrec.llm import LLMConfig

    llm = LLMConfig(**spec["llm"]) if spec.get("llm") else None
    live = live_recommender(spec["model"], spec["db"], shared=True, llm=llm)
    _ = live.model.catalogue.encoder  # load the text encoder before taking traffic
    fields = {**spec["settings"], "retrain_every_s": None}  # the parent retrains
    workers = int(spec.get("workers", 1))
    if fields.get("write_rate"):  # the kernel spreads a client's connections over the workers
        fields["write_rate"] = fields["write_rate"] / workers
        fields["write_burst"] = max(1, fields["write_burst"] // workers)
    return create_app(live, ServiceSettings(**fields))
