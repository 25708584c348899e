"""HTTP service (FastAPI): parses, validates, calls :class:`~semrec.serving.live.LiveRecommender`, formats.

Endpoints: ``POST /recommend``, ``POST /feedback``, ``PUT/GET/DELETE /users/{id}``,
``PUT/GET/DELETE /items/{id}``, ``POST /admin/retrain``, ``GET /health``, ``GET /metrics``
(Prometheus text format), ``GET /openapi.json``. Writes and deletes need the API key
(``X-API-Key`` header or ``Authorization: Bearer``), compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator
from sqlalchemy.exc import DBAPIError

from semrec.errors import SemrecError
from semrec.frozen import FrozenConfig
from semrec.serving.limits import RETRY_AFTER_S, BodyLimit, ScoringQueue, TokenBucket, validation_errors
from semrec.serving.live import LiveRecommender, UnknownItemError
from semrec.serving.store import EventRecord
from semrec.serving.web import add_web, item_fields
from semrec.types import Query, Scalar

logger = logging.getLogger(__name__)

Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


class ServiceSettings(FrozenConfig):
    """Service configuration."""

    api_key: str = Field(min_length=8)
    """Key for writes and deletes (and reads when ``read_requires_key``)."""
    read_requires_key: bool = False
    """Require the key on read endpoints too."""
    max_body_bytes: int = Field(2_000_000, ge=1024)
    """Larger request bodies get 413."""
    retrain_every_s: float | None = Field(None, gt=0)
    """Retrain from the store on this period (seconds); ``None``: only on request."""
    write_rate: float | None = Field(500.0, gt=0)
    """Write requests per second each client address may sustain (a token bucket per address and
    worker process; behind a proxy, the address it forwards in ``X-Forwarded-For`` when uvicorn
    trusts it); more get 429 with ``Retry-After``. ``None``: unlimited."""
    write_burst: int = Field(1000, ge=1)
    """Write requests a client may send at once above ``write_rate``."""
    request_timeout_s: float | None = Field(10.0, gt=0)
    """Deadline of a request, from its arrival (seconds): a body not received by then gets 408; a
    recommendation not computed by then gets 503 with ``Retry-After`` (if it was still queued it is
    never computed: overload sheds work). Writes are not cut off once their body is read: an
    answered write is committed. ``None``: no deadline."""
    reports_dir: str | None = None
    """Folder holding ``handover.json`` / ``frontier.json`` (``semrec evaluate-handover`` /
    ``evaluate-diversity``) that the page at ``/`` draws; ``None``: no charts."""


class RecommendRequest(BaseModel):
    """Who to recommend for; see :class:`semrec.types.Query` (the same fields, with service limits)."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id | None = None
    history: list[Id] = Field(default_factory=list, max_length=2000)
    text: str | None = Field(None, max_length=100_000)
    attributes: dict[str, Scalar] = Field(default_factory=dict, max_length=50)
    context: dict[str, Scalar] = Field(default_factory=dict, max_length=50)
    k: int = Field(10, ge=1, le=500)
    exclude: list[Id] = Field(default_factory=list, max_length=5000)
    candidates: list[Id] | None = Field(None, max_length=100_000)
    filters: dict[str, list[str]] = Field(default_factory=dict, max_length=20)
    diversity: float = Field(0.0, ge=0.0, le=1.0)
    reranker: Literal["auto", "mmr", "mmr-tags", "calibrated", "topic"] = "auto"
    explain: bool = False


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    score: float
    reason: str | None = None
    because: list[tuple[str, float]] | None = None
    shared: dict[str, list[str]] | None = None
    matched_words: list[str] | None = None
    interests: list[str] | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    """Short catalogue fields of the item (genres, year, author ...)."""


class RecommendResponse(BaseModel):
    items: list[RecommendedItem]
    source: str
    notes: list[str]
    model_version: int


class FeedbackEvent(BaseModel):
    """One event: a view, click, purchase or rating of an item by a user."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id
    item_id: Id
    type: str = Field("interaction", min_length=1, max_length=64)
    value: float = 1.0
    timestamp: int | None = Field(None, ge=0, le=10**11)
    """Unix seconds; the server's time when absent."""
    context: dict[str, Scalar] = Field(default_factory=dict, max_length=50)
    event_id: Id | None = None
    """Client id of the event: a retried event with the same id is stored once."""

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value


class FeedbackBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[FeedbackEvent] = Field(min_length=1, max_length=20_000)


def _feedback_kind(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "event"


FeedbackBody = Annotated[
    Annotated[FeedbackBatch, Tag("batch")] | Annotated[FeedbackEvent, Tag("event")],
    Discriminator(_feedback_kind),
]
"""One event, or ``{"events": [...]}``; validation errors name only the shape that was sent."""


class FeedbackResponse(BaseModel):
    accepted: int
    new: int


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=100_000)
    """Self-description, needs, or reviews; used for cold start."""
    attributes: dict[str, Scalar] = Field(default_factory=dict, max_length=100)


class UserOut(BaseModel):
    user_id: str
    text: str | None
    attributes: dict[str, Any]
    n_events: int


class ItemIn(BaseModel):
    """Item fields, e.g. ``{"title": ..., "genres": "Comedy|Drama", "overview": ...}``."""

    model_config = ConfigDict(extra="allow")

    title: str | None = Field(None, max_length=2000)


class LLMMetrics:
    """Prometheus collector of the optional LLM stages: outcomes per stage, cache hits."""

    def __init__(self, live: LiveRecommender) -> None:
        self.live = live

    def collect(self):
        outcomes = CounterMetricFamily(
            "semrec_llm_outcomes",
            "LLM stage outcomes (ok, timeout, error, unparsable, rejected: the non-LLM answer was kept, skipped)",
            labels=["stage", "outcome"],
        )
        hits = CounterMetricFamily("semrec_llm_cache_hits", "LLM answers served from the cache")
        stage = self.live.llm
        if stage is not None:
            for (name, outcome), n in sorted(stage.outcomes.items()):
                outcomes.add_metric([name, outcome], n)
            hits.add_metric([], stage.client.cache_hits)
        yield outcomes
        yield hits


def create_app(live: LiveRecommender, settings: ServiceSettings) -> FastAPI:
    """The FastAPI application over ``live``."""
    app = FastAPI(title="semrec", version="0.1.0", description=__doc__)
    registry = CollectorRegistry()
    requests = Counter("semrec_requests", "HTTP requests", ["endpoint", "method", "status"], registry=registry)
    latency = Histogram(
        "semrec_request_latency_seconds",
        "Request latency",
        ["endpoint"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    )
    Gauge("semrec_events_stored", "Events in the store", registry=registry).set_function(live.store.count_events)
    Gauge("semrec_model_version", "Model version (increments on retrain)", registry=registry).set_function(
        lambda: live.model_version
    )
    Gauge("semrec_items", "Items in the catalogue", registry=registry).set_function(lambda: live.model.n_items)
    registry.register(LLMMetrics(live))
    timeouts = Counter(
        "semrec_request_timeouts", "Recommendations not ready by the request deadline (503)", registry=registry
    )
    scoring = ScoringQueue(settings.request_timeout_s)
    key = settings.api_key.encode()

    def authorised(request: Request) -> bool:
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if not given and auth.lower().startswith("bearer "):
            given = auth[7:]
        return hmac.compare_digest(given.encode(), key)

    limiter = TokenBucket(settings.write_rate, settings.write_burst) if settings.write_rate else None

    async def write_access(request: Request) -> None:
        if not authorised(request):
            raise HTTPException(401, "missing or wrong API key (X-API-Key header)")
        if limiter is not None:
            client = request.client.host if request.client else "unknown"
            wait = limiter.take(client)
            if wait > 0:
                raise HTTPException(
                    429,
                    f"write rate limit: {settings.write_rate:g} requests/s per client; retry later",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )

    async def read_access(request: Request) -> None:
        if settings.read_requires_key and not authorised(request):
            raise HTTPException(401, "missing or wrong API key (X-API-Key header)")

    def observe(scope, status: int, seconds: float) -> None:
        endpoint = getattr(scope.get("route"), "path", "unmatched")
        requests.labels(endpoint, scope["method"], str(status)).inc()
        latency.labels(endpoint).observe(seconds)

    @app.exception_handler(ValidationError)
    async def validation_error(_request: Request, exc: ValidationError):
        return JSONResponse(
            {"detail": validation_errors(exc.errors(include_url=False, include_context=False))}, status_code=422
        )

    @app.exception_handler(RequestValidationError)
    async def request_validation_error(_request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": validation_errors(exc.errors())}, status_code=422)

    @app.exception_handler(DBAPIError)
    async def store_unavailable(_request: Request, exc: DBAPIError):
        """The database went away (restart, failover, network): the client should retry, not give up."""
        logger.warning("store unavailable: %s", type(exc.orig).__name__ if exc.orig is not None else exc)
        return JSONResponse(
            {"detail": "the event store is unavailable; retry (nothing of this request was stored)"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(SemrecError)
    async def semrec_error(_request: Request, exc: SemrecError):
        status = 422 if isinstance(exc, UnknownItemError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.post("/recommend", response_model=RecommendResponse, dependencies=[Depends(read_access)])
    async def recommend(request: Request, body: RecommendRequest) -> RecommendResponse:
        """Top-k for a user id, a request-time history, or a text; unknown users fall back (text, then popular)."""
        query = Query(**body.model_dump())
        model = live.model
        try:
            result = await scoring.run(live.recommend, query, arrived=request.state.arrived)
        except TimeoutError:
            timeouts.inc()
            raise HTTPException(
                503,
                f"no answer within the request deadline ({settings.request_timeout_s:g} s): the service "
                "is overloaded or the request is too expensive; retry later",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            ) from None
        ids = result.item_ids.tolist()
        titles = model.catalogue.titles(ids) if ids else []
        items = []
        for n, (item_id, title, score, fields) in enumerate(
            zip(ids, titles, result.scores.tolist(), item_fields(model.catalogue, ids))
        ):
            item = RecommendedItem(item_id=item_id, title=title, score=score, attributes=fields)
            if result.explanations:
                e = result.explanations[n]
                item.reason, item.because, item.shared = e.reason, e.because, e.shared
                item.matched_words, item.interests = e.matched_words, e.interests
            items.append(item)
        return RecommendResponse(
            items=items, source=result.source, notes=result.notes, model_version=live.model_version
        )

    @app.post("/feedback", response_model=FeedbackResponse, dependencies=[Depends(write_access)])
    def feedback(body: FeedbackBody) -> FeedbackResponse:
        """Store one or many events; answered only after they are durably committed."""
        events = body.events if isinstance(body, FeedbackBatch) else [body]
        now = int(time.time())
        records = [
            EventRecord(
                e.user_id,
                e.item_id,
                e.type,
                e.value,
                e.timestamp if e.timestamp is not None else now,
                e.context,
                e.event_id,
            )
            for e in events
        ]
        return FeedbackResponse(accepted=len(records), new=live.add_feedback(records))

    @app.put("/users/{user_id}", response_model=UserOut, dependencies=[Depends(write_access)])
    def put_user(user_id: Annotated[str, Path(min_length=1, max_length=200)], body: UserIn) -> UserOut:
        live.put_user(user_id, body.text, body.attributes)
        user = live.store.get_user(user_id)
        if user is None:  # deleted by a concurrent request between the write and this read
            raise HTTPException(404, f"user {user_id!r} not found")
        return UserOut(**user)

    @app.get("/users/{user_id}", response_model=UserOut, dependencies=[Depends(read_access)])
    def get_user(user_id: Annotated[str, Path(min_length=1, max_length=200)]) -> UserOut:
        user = live.store.get_user(user_id)
        if user is None:
            raise HTTPException(404, f"user {user_id!r} not found")
        return UserOut(**user)

    @app.delete("/users/{user_id}", dependencies=[Depends(write_access)])
    def delete_user(user_id: Annotated[str, Path(min_length=1, max_length=200)]) -> dict[str, Any]:
        """Forget the user: events, profile text, cached and derived histories."""
        result = live.delete_user(user_id)
        if result["deleted_events"] < 0 and not result["erasure_pending_retrain"]:
            raise HTTPException(404, f"user {user_id!r} not found")
        return {"user_id": user_id, **result}

    @app.put("/items/{item_id}", dependencies=[Depends(write_access)])
    def put_item(item_id: Annotated[str, Path(min_length=1, max_length=200)], body: ItemIn) -> dict[str, Any]:
        """Add or update an item; it is encoded and recommendable at once."""
        fields = {k: v for k, v in body.model_dump().items() if v is not None}
        live.put_item(item_id, fields)
        return {"item_id": item_id, **fields}

    @app.get("/items/{item_id}", dependencies=[Depends(read_access)])
    def get_item(item_id: Annotated[str, Path(min_length=1, max_length=200)]) -> dict[str, Any]:
        item = live.store.get_item(item_id)
        if item is None:
            raise HTTPException(404, f"item {item_id!r} not found")
        return item

    @app.delete("/items/{item_id}", dependencies=[Depends(write_access)])
    def delete_item(item_id: Annotated[str, Path(min_length=1, max_length=200)]) -> dict[str, Any]:
        if not live.delete_item(item_id):
            raise HTTPException(404, f"item {item_id!r} not found")
        return {"item_id": item_id, "deleted": True}

    @app.post("/admin/retrain", dependencies=[Depends(write_access)])
    def retrain() -> dict[str, Any]:
        """Refit from the stored events and swap the model in atomically."""
        return live.retrain().__dict__

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", **live.stats()}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if settings.retrain_every_s:
        stop = threading.Event()

        def schedule() -> None:
            while not stop.wait(settings.retrain_every_s):
                try:
                    report = live.retrain()
                    logger.info("scheduled retrain: %s", report)
                except Exception:  # keep serving the old model; the next period tries again
                    logger.exception("scheduled retrain failed")

        @app.on_event("startup")
        def _start() -> None:
            threading.Thread(target=schedule, name="semrec-retrain", daemon=True).start()

        @app.on_event("shutdown")
        def _stop() -> None:
            stop.set()

    add_web(app, live, settings.reports_dir, read_access)

    @app.on_event("shutdown")
    def _close_scoring() -> None:
        scoring.close()

    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, observe=observe, timeout_s=settings.request_timeout_s
    )
    return app
