"""On-disk embedding cache keyed by (encoder identity, text hash), so a changed model or text is never stale."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from semrec.text.encoders import TextEncoder, TextKind

logger = logging.getLogger(__name__)


def identity_key(identity: dict[str, object]) -> str:
    """A short stable hash of an encoder identity (used to key caches)."""
    text = repr(sorted(identity.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EmbeddingCache:
    """On-disk embedding cache keyed by (encoder identity, sha256 of the text).

    One SQLite file per encoder identity, so a changed model, version, prefix or normalisation
    never serves stale vectors. Safe to delete at any time.

    Args:
        directory: Cache folder (created on first write).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _connect(self, identity: dict[str, object]) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.directory / f"{identity_key(identity)}.sqlite")
        conn.execute("CREATE TABLE IF NOT EXISTS vectors (text_sha256 TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return conn

    def encode(
        self,
        encoder: TextEncoder,
        texts: Sequence[str],
        kind: TextKind = "document",
        progress: bool = False,
        workers: int | None = 1,
        ray: str | None = None,
    ) -> np.ndarray:
        """Embeddings of ``texts``, computing (and storing) only those not cached yet.

        Missing texts are encoded in chunks (:func:`semrec.text.parallel.encode_chunks`, on
        ``workers`` processes; ``None``: every core; or on the Ray cluster at ``ray``) and each chunk
        is committed as it arrives,
        so an interrupted run resumes where it stopped.

        Returns:
            ``(len(texts), encoder.dim) float32``, row ``i`` for ``texts[i]``.
        """
        keys = [hashlib.sha256(f"{kind}\0{t}".encode()).hexdigest() for t in texts]
        out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        with self._connect(encoder.identity) as conn:
            found: dict[str, np.ndarray] = {}
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT text_sha256, vector FROM vectors WHERE text_sha256 IN ({marks})"
                for key, blob in conn.execute(query, chunk):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
            missing = [i for i, key in enumerate(keys) if key not in found]
            todo = list(dict.fromkeys(keys[i] for i in missing))
            if todo:
                from tqdm.auto import tqdm

                from semrec.text.parallel import encode_chunks

                first = {keys[i]: i for i in reversed(missing)}
                logger.info("encoding %d texts (%d cached)", len(todo), len(unique) - len(todo))
                pending = [texts[first[k]] for k in todo]
                bar = tqdm(total=len(todo), desc="encoding", disable=not progress)
                for positions, vectors in encode_chunks(encoder, pending, kind, workers=workers, ray=ray):
                    chunk = [todo[p] for p in positions.tolist()]
                    rows = [(k, v.astype(np.float32).tobytes()) for k, v in zip(chunk, vectors)]
                    conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
                    conn.commit()  # stored: an interruption loses at most the chunk in flight
                    found.update(zip(chunk, vectors))
                    bar.update(len(vectors))
                bar.close()
        for i, key in enumerate(keys):
            out[i] = found[key]
        return out
