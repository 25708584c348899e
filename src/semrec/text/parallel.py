"""Batch encoding on every core: worker processes, each holding its own copy of the encoder.

The packaged multilingual encoder runs its forward pass on one BLAS thread; sentence-transformers
models use torch's intra-op threads, which scale poorly on short texts. For a large batch,
:func:`encode_chunks` starts ``workers`` processes (``spawn``: no state shared with the parent,
safe with torch and BLAS), builds the encoder from its :class:`~semrec.text.encoders.EncoderConfig`
once in each (one thread each), and yields the chunks' embeddings in order as they finish, so a
caller can store each chunk before the next one arrives (resumable after an interruption).
On the 2-core development machine, 2 workers encode 2.1x the texts per second of one process
(``benchmarks/scale.py --encoding``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence

import numpy as np

from semrec.errors import SemrecError
from semrec.text.encoders import EncoderConfig, TextEncoder, TextKind, build_encoder

PARALLEL_MIN_TEXTS = 20_000
"""Below this many texts one process is used: starting workers and loading the model in each
costs a few seconds."""

_worker_encoder: TextEncoder | None = None


def default_workers() -> int:
    """The cores this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _spawn_safe() -> bool:
    """Whether ``spawn`` workers can start: they re-run the main module from its file, which
    code read from stdin (``python -``) does not have."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.exists(path)


def limit_threads(config: EncoderConfig) -> None:
    """One torch thread in this process (a worker shares the cores with its siblings); models that
    do not use torch are left alone, since importing torch costs seconds."""
    if config.model not in ("hashing", "use-multilingual"):
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass


def _start(config: EncoderConfig) -> None:
    global _worker_encoder
    limit_threads(config)
    _worker_encoder = build_encoder(config)


def _encode(job: tuple[list[str], TextKind]) -> np.ndarray:
    assert _worker_encoder is not None, "worker not started"
    texts, kind = job
    return _worker_encoder.encode(texts, kind=kind)


def encode_chunks(
    encoder: TextEncoder,
    texts: Sequence[str],
    kind: TextKind = "document",
    chunk_size: int = 4096,
    workers: int | None = None,
    ray: str | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(positions (n,) int64, (n, dim) float32)`` for chunks of ``texts``: consecutive and in
    order on this machine, in the order they finish on Ray.

    Args:
        encoder: The encoder; worker processes and Ray actors rebuild it from ``encoder.config`` (an
            encoder without a ``config`` attribute, or ``workers=1``, or fewer than
            :data:`PARALLEL_MIN_TEXTS` texts, encodes in this process; ``ray`` ignores the size).
        texts: The texts.
        kind: ``"document"`` or ``"query"`` (prefixes).
        chunk_size: Texts per chunk (the unit that is stored and resumed).
        workers: Processes; ``None``: :func:`default_workers`.
        ray: A Ray address (:func:`semrec.distributed.connect`): encode on that cluster instead.

    Raises:
        SemrecError: ``ray`` is given but the encoder has no ``config`` to rebuild, or Ray fails
            to start (:func:`semrec.distributed.connect`).
    """
    config = getattr(encoder, "config", None)
    if ray is not None:
        if not isinstance(config, EncoderConfig):
            raise SemrecError(f"--ray: {type(encoder).__name__} has no EncoderConfig to rebuild on Ray actors")
        from semrec.distributed import encode_on_ray

        yield from encode_on_ray(config, texts, kind, ray, chunk_size)
        return
    starts = list(range(0, len(texts), chunk_size))
    workers = default_workers() if workers is None else max(1, workers)
    parallel = workers > 1 and len(texts) >= PARALLEL_MIN_TEXTS and isinstance(config, EncoderConfig)

    def positions(start: int, n: int) -> np.ndarray:
        return np.arange(start, start + n, dtype=np.int64)

    if not (parallel and _spawn_safe()):
        for start in starts:
            vectors = encoder.encode(list(texts[start : start + chunk_size]), kind=kind)
            yield positions(start, len(vectors)), vectors
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(starts)), initializer=_start, initargs=(config,)) as pool:
        jobs = ((list(texts[start : start + chunk_size]), kind) for start in starts)
        for start, vectors in zip(starts, pool.imap(_encode, jobs)):
            yield positions(start, len(vectors)), vectors
