"""A client of the OpenAI-compatible chat API (``POST {url}/chat/completions``), which Ollama,
vLLM and llama.cpp's server expose, with a per-call time budget and an answer cache.

Nothing here logs a prompt or an answer: user text stays out of logs (only stage names, outcomes
and durations are counted).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any

import httpx
from pydantic import Field

from semrec.errors import SemrecError
from semrec.frozen import FrozenConfig

STAGES = ("intent", "rerank", "rephrase")


class LLMConfig(FrozenConfig):
    """The optional generative stage (off unless a ``url`` is given: ``--llm-url``)."""

    url: str = Field(min_length=1)
    """Base URL of the OpenAI-compatible API, e.g. ``http://127.0.0.1:8080/v1`` (llama.cpp),
    ``http://127.0.0.1:11434/v1`` (Ollama)."""
    model: str = "local"
    """Model name sent in each request (llama.cpp's server ignores it; Ollama and vLLM need it)."""
    key: str | None = Field(None, repr=False)
    """Bearer key for the endpoint, if it needs one (never saved in an artifact)."""
    budget_s: float = Field(1.5, gt=0)
    """Time the generative stages may add to one request in all (seconds); a stage that would run
    past it is skipped or cut off and the request keeps the non-LLM answer."""
    stages: tuple[str, ...] = STAGES
    """Which stages run: ``intent`` (a need -> catalogue values and exclusions, before retrieval),
    ``rerank`` (order the top ``rerank_top``), ``rephrase`` (reword verified explanations)."""
    rerank_top: int = Field(10, ge=2, le=50)
    """Candidates shown to the model for re-ranking."""
    max_tokens: int = Field(160, ge=8, le=1024)
    """Longest answer of the rephrase stage (intent: 48 tokens, rerank: 40)."""
    send_schema: bool = True
    """Send each answer's JSON Schema in ``response_format`` (``{"type": "json_object", "schema":
    ...}``, llama.cpp's server); turn off for an endpoint that refuses the extra field."""
    cache_size: int = Field(2048, ge=0)
    """Answers kept in memory (same prompt -> same answer; temperature 0)."""


class LLMUnavailable(SemrecError):
    """The endpoint did not answer in time or answered with an error (the caller falls back)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChatClient:
    """``complete(messages, timeout_s) -> text`` against ``config.url``, cached by prompt."""

    def __init__(self, config: LLMConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.key}"} if config.key else {}
        self._http = httpx.Client(base_url=config.url.rstrip("/"), headers=headers, transport=transport)
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_hits = 0

    def complete(
        self, messages: list[dict[str, str]], timeout_s: float, max_tokens: int | None = None, schema=None
    ) -> str:
        """The assistant's answer to ``messages``: temperature 0, a JSON object (the OpenAI
        ``response_format: json_object``, which llama.cpp, Ollama and vLLM enforce by constrained
        decoding), following the JSON Schema ``schema`` when given and ``config.send_schema`` (llama.cpp's
        server compiles it into a grammar: only catalogue values, valid candidate numbers), at most
        ``max_tokens`` (default ``config.max_tokens``).

        Raises:
            LLMUnavailable: ``timeout`` (no answer within ``timeout_s``), ``error`` (connection
                refused, HTTP error, or a reply without a message).
        """
        max_tokens = max_tokens or self.config.max_tokens
        cache_key = json.dumps([self.config.model, max_tokens, messages, schema], ensure_ascii=False)
        key = hashlib.sha256(cache_key.encode()).hexdigest()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return self._cache[key]
        if timeout_s <= 0.001:
            raise LLMUnavailable("timeout")
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": 0.0,
            "max_tokens": max_tokens,
            "response_format": {"type": "json_object"},
        }
        if schema is not None and self.config.send_schema:
            body["response_format"]["schema"] = schema
        started = time.perf_counter()
        try:
            response = self._http.post("/chat/completions", json=body, timeout=httpx.Timeout(timeout_s))
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
        except httpx.TimeoutException:
            raise LLMUnavailable("timeout") from None
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
            raise LLMUnavailable("timeout" if time.perf_counter() - started >= timeout_s else "error") from None
        if not isinstance(text, str):
            raise LLMUnavailable("error")
        if self.config.cache_size:
            with self._lock:
                self._cache[key] = text
                while len(self._cache) > self.config.cache_size:
                    self._cache.popitem(last=False)
        return text

    def close(self) -> None:
        self._http.close()
