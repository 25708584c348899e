"""HTTP limits of the service: short, JSON-safe validation errors, per-client write rate limits,
and the request-body size limit with per-request metrics (ASGI middleware)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

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


class BodyLimit:
    """ASGI middleware: 413 when a request body exceeds ``max_bytes`` (declared or streamed), and
    per-request metrics through ``observe(scope, status, seconds)`` (pure ASGI: no per-request task)."""

    def __init__(self, app, max_bytes: int, observe) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.observe = observe

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._limited(scope, receive, send_observed)
        finally:
            self.observe(scope, status, time.perf_counter() - started)

    async def _limited(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_large = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await too_large(scope, receive, send)
        seen, overflow, started = 0, False, False

        async def limited_receive():
            nonlocal seen, overflow
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # a streamed (chunked) body: stop reading, answer 413
                    overflow = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if overflow:
                return  # the application's answer to a cut-off body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not overflow:
                raise
        if overflow and not started:
            await too_large(scope, receive, send)
