"""HTTP limits of the service: short, JSON-safe validation errors, per-client write rate limits,
deadlines for answers (one scoring thread that sheds late work), and the request-body size and
time limits with per-request metrics (ASGI middleware)."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi.responses import JSONResponse

RETRY_AFTER_S = 1
"""Seconds a client is told to wait (``Retry-After``) when the store is unavailable."""
EXCERPT_CHARS = 80
"""A validation error quotes at most this many characters of the offending input."""


def _excerpt(value: Any) -> Any:
    """A short, JSON-safe stand-in for an input value in an error reply (never the whole input)."""
    if isinstance(value, bool) or value is None or isinstance(value, int) and abs(value) < 10**18:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= EXCERPT_CHARS else f"{value[:EXCERPT_CHARS]}... ({len(value):,} characters)"
    if isinstance(value, dict | list | tuple):
        return f"<{type(value).__name__} of {len(value):,} entries>"
    return f"<{type(value).__name__}>"


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors as ``{"loc", "msg", "type", "input"}``, the input cut to an excerpt."""
    out = []
    for error in errors:
        entry = {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", ""))[:300], "type": error.get("type")}
        if "input" in error:
            entry["input"] = _excerpt(error["input"])
        out.append(entry)
    return out


class TokenBucket:
    """Per-client token buckets: ``rate`` tokens per second, at most ``burst`` saved up.

    References:
        The token bucket of traffic shaping (J. Turner, New directions in communications, 1986).
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill, monotonic s)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one token of ``client``; returns 0.0, or the seconds until one is available (refused)."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget idle clients (a full bucket is the default)
                self._buckets = {c: b for c, b in self._buckets.items() if b[1] > now - self.burst / self.rate}
            return (1.0 - tokens) / self.rate


T = TypeVar("T")


class ScoringQueue:
    """Answers computed on one thread outside the event loop, in arrival order, each with a deadline.

    The event loop keeps accepting connections, reading bodies and answering ``/health`` while a
    model scores. :meth:`run` raises :class:`TimeoutError` when the answer is not ready
    ``timeout_s`` seconds after the request arrived; a request still waiting in the queue then is
    dropped without being computed, so an overload sheds work (the clients are told to retry)
    instead of growing every client's latency without bound. A computation that already started
    runs to its end (a Python thread cannot be interrupted) and its answer is discarded.

    One thread, because scoring holds the GIL for most of its time (two threads would only
    interleave) and the fitted pipeline is read by one request at a time, as on the event loop.
    """

    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="semrec-score")

    async def run(self, fn: Callable[..., T], *args: Any, arrived: float) -> T:
        """``fn(*args)`` on the scoring thread; ``arrived`` is the request's ``time.perf_counter()``.

        Raises:
            TimeoutError: No answer within ``timeout_s`` of ``arrived``.
        """
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        if self.timeout_s is None:
            return await future
        remaining = self.timeout_s - (time.perf_counter() - arrived)
        # wait_for cancels the future on timeout; a job that has not started is then never run
        return await asyncio.wait_for(future, max(remaining, 0.0))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class BodyLimit:
    """ASGI middleware: 413 when a request body exceeds ``max_bytes`` (declared or streamed), 408
    when it has not arrived ``timeout_s`` seconds after the request started (a slow or stalled
    client), and per-request metrics through ``observe(scope, status, seconds)``. The request's
    ``time.perf_counter()`` at arrival is ``request.state.arrived`` (pure ASGI: no per-request task).
    """

    def __init__(self, app, max_bytes: int, observe, timeout_s: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.observe = observe
        self.timeout_s = timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        scope.setdefault("state", {})["arrived"] = started
        status = 500

        async def send_observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._limited(scope, receive, send_observed, started)
        finally:
            self.observe(scope, status, time.perf_counter() - started)

    async def _limited(self, scope, receive, send, arrived: float):
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_large = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await too_large(scope, receive, send)
        seen, refused, started, complete = 0, None, False, False

        async def limited_receive():
            nonlocal seen, refused, complete
            if complete or self.timeout_s is None:
                message = await receive()
            else:
                try:
                    remaining = self.timeout_s - (time.perf_counter() - arrived)
                    message = await asyncio.wait_for(receive(), max(remaining, 0.0))
                except TimeoutError:  # the body is still incomplete: stop waiting, answer 408
                    refused = JSONResponse(
                        {"detail": f"request body not received within {self.timeout_s:g} s"}, status_code=408
                    )
                    return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # a streamed (chunked) body: stop reading, answer 413
                    refused = too_large
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused is not None:
                return  # the application's answer to a cut-off body is replaced by the 413 / 408
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refused is None:
                raise
        if refused is not None and not started:
            await refused(scope, receive, send)
