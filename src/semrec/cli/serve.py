"""``semrec serve``, ``retrain``, ``export`` and ``items``: the live service and its stored state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from semrec.cli.common import (
    console,
    err_console,
    parse_mapping,
    store_url,
    user_options,
)
from semrec.cli.llm import LLMBudgetOpt, LLMKeyOpt, LLMModelOpt, LLMUrlOpt, llm_config

if TYPE_CHECKING:
    from semrec.serving.live import LiveRecommender

items_app = typer.Typer(help="Change an artifact's catalogue without refitting.", no_args_is_help=True)

DbOpt = Annotated[
    str | None,
    typer.Option(
        help="Store URL: sqlite:///file.db (default: next to the artifact) or postgresql+psycopg://user:pass@host/db."
    ),
]
ApiKeyOpt = Annotated[str | None, typer.Option(envvar="SEMREC_API_KEY", help="Key for writes (env SEMREC_API_KEY).")]


def _live(model: Path, db: str | None, shared: bool = False, llm=None) -> LiveRecommender:
    """The artifact in ``model`` with its event store, as a :class:`~semrec.serving.live.LiveRecommender`."""
    from semrec.serving.workers import live_recommender

    return live_recommender(str(model), store_url(model, db), shared, llm)


def serve(
    model: Annotated[Path, typer.Option(help="Artifact folder written by `semrec fit`.")],
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    api_key: ApiKeyOpt = None,
    read_requires_key: Annotated[bool, typer.Option(help="Require the key on reads too.")] = False,
    retrain_every: Annotated[float | None, typer.Option(help="Retrain from stored events every N seconds.")] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Largest accepted request body.")] = 2_000_000,
    request_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds a request may take: a body not received gets 408, an answer not ready 503."),
    ] = 10.0,
    write_rate: Annotated[
        float | None,
        typer.Option(help="Write requests/s each client address may sustain (more get 429); all workers together."),
    ] = 500.0,
    write_burst: Annotated[
        int, typer.Option(help="Write requests a client may send at once above --write-rate.")
    ] = 1000,
    llm_url: LLMUrlOpt = None,
    llm_model: LLMModelOpt = "local",
    llm_key: LLMKeyOpt = None,
    llm_budget: LLMBudgetOpt = 1.5,
    reports: Annotated[
        Path | None,
        typer.Option(
            help="Folder of handover.json / frontier.json (semrec evaluate-handover / -diversity) for the page."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes on the port; with more than one, no process caches histories and each "
            "follows the others' writes through the store (semrec.serving.workers).",
        ),
    ] = 1,
) -> None:
    """Run the HTTP service (FastAPI + uvicorn); OpenAPI schema at /docs and /openapi.json."""
    import gc
    import secrets

    import uvicorn

    from semrec.serving.app import ServiceSettings, create_app

    key = api_key or secrets.token_urlsafe(24)
    llm = llm_config(llm_url, llm_model, llm_key, llm_budget)
    with user_options():
        settings = ServiceSettings(
            api_key=key,
            read_requires_key=read_requires_key,
            retrain_every_s=retrain_every,
            max_body_bytes=max_body_bytes,
            request_timeout_s=request_timeout or None,
            write_rate=write_rate or None,
            write_burst=write_burst,
            reports_dir=str(reports) if reports else None,
        )
    if not api_key:
        err_console.print(f"no --api-key / SEMREC_API_KEY given; this run's write key is: {key}", highlight=False)
    if workers > 1:
        _serve_workers(model, db, host, port, workers, settings, llm)
        return
    live = _live(model, db, llm=llm)
    _ = live.model.catalogue.encoder  # load the text encoder before taking traffic
    application = create_app(live, settings)
    gc.collect()
    gc.freeze()  # the loaded model and caches are long-lived: keep them out of every GC pass (latency tail)
    err_console.print(
        f"semrec serving on http://{host}:{port} (try it in a browser; API docs at /docs)", highlight=False
    )
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


def _serve_workers(model: Path, db: str | None, host: str, port: int, workers: int, settings, llm) -> None:
    """``workers`` uvicorn processes in shared mode; this process seeds the store and retrains."""
    import os
    import threading

    import uvicorn

    from semrec.serving.workers import ENV

    live = _live(model, db, shared=True)  # seeds an empty store once, before any worker starts
    os.environ[ENV] = json.dumps(
        {
            "model": str(model),
            "db": store_url(model, db),
            "settings": settings.model_dump(mode="json"),
            "workers": workers,
            "llm": llm.model_dump(mode="json") if llm is not None else None,
        }
    )
    if settings.retrain_every_s:

        def schedule() -> None:
            while True:
                threading.Event().wait(settings.retrain_every_s)
                try:
                    live.retrain()
                except Exception as exc:  # keep serving the old model; the next period tries again
                    err_console.print(f"scheduled retrain failed: {exc}", highlight=False)

        threading.Thread(target=schedule, name="semrec-retrain", daemon=True).start()
    err_console.print(f"semrec serving on http://{host}:{port} with {workers} workers", highlight=False)
    uvicorn.run(
        "semrec.serving.workers:app_factory",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


def retrain(
    model: Annotated[Path, typer.Option(help="Artifact folder to refit (rewritten atomically).")],
    db: Annotated[str | None, typer.Option(help="Store URL (default: next to the artifact).")] = None,
) -> None:
    """Refit the model from every stored event and item (same configuration)."""
    report = _live(model, db).retrain()
    console.print(
        f"retrained on {report.n_events} events, {report.n_users} users, {report.n_items} items in "
        f"{report.seconds:.1f} s -> {report.directory}",
        highlight=False,
        soft_wrap=True,
    )


def export(
    db: Annotated[str, typer.Option(help="Store URL, e.g. sqlite:///artifacts/ml-100k-ease.db.")],
    user: Annotated[str | None, typer.Option(help="Only this user's events.")] = None,
) -> None:
    """Print stored events as JSON Lines (all, or one user's: a data-subject export)."""
    from semrec.serving.store import Store

    for row in list(Store(db).export_events(user)):
        print(json.dumps(row, ensure_ascii=False))


@items_app.command("add")
def items_add(
    model: Annotated[Path, typer.Option(help="Artifact folder (rewritten atomically).")],
    item_id: Annotated[str, typer.Option(help="The new (or updated) item's id.")],
    field: Annotated[list[str], typer.Option(help="FIELD=VALUE, e.g. title='Heat' genres='Action|Crime'.")],
) -> None:
    """Add or update an item from its text; it is recommendable at once, without a retrain."""
    from semrec.pipeline import Recommender

    fields = parse_mapping(field, "--field", "FIELD=VALUE")
    recommender = Recommender.load(model)
    recommender.upsert_item(item_id, fields)
    recommender.save(model)
    console.print(f"item {item_id} added; the catalogue has {recommender.n_items} items", highlight=False)
