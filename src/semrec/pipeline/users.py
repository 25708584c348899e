"""History lookup: who the user is, what they did (oldest first) and what they told us.

The pipeline asks a :class:`UserLookup` for a user; the artifact's copy of the training
histories (:class:`ArtifactUsers`) answers in the library and the CLI, the durable store
(:class:`semrec.serving.live.StoreUsers`) answers in the HTTP service. Both return the same
:class:`UserRecord`, so every entry point feeds the pipeline the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from semrec.vocab import IdVocabulary


@dataclass
class UserRecord:
    """What is known about a user at request time.

    Attributes:
        history: ``(n,) int64`` item positions, oldest first.
        times: ``(n,) int64`` Unix seconds of those interactions, or ``None`` when unknown.
        text: The stored self-description, or ``None``.
        attributes: Stored attributes (age, gender, occupation, location ...).
    """

    history: np.ndarray
    times: np.ndarray | None = None
    text: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class UserLookup(Protocol):
    """Finds a user's record; ``None`` when the user is unknown."""

    def lookup(self, user_id: str, vocab: IdVocabulary) -> UserRecord | None:
        """The record of ``user_id`` with item positions in ``vocab``'s numbering."""
        ...


class ArtifactUsers:
    """The training histories stored in the artifact (the library's and the CLI's lookup).

    Args:
        vocab: User ids <-> positions.
        histories: One ``(n_u,) int64`` item-position array per user position, oldest first.
        times: The matching ``(n_u,) int64`` Unix-second timestamps.
    """

    def __init__(self, vocab: IdVocabulary, histories: list[np.ndarray], times: list[np.ndarray]) -> None:
        self.vocab, self.histories, self.times = vocab, histories, times

    def lookup(self, user_id: str, vocab: IdVocabulary) -> UserRecord | None:
        position = self.vocab.get(user_id)
        if position is None:
            return None
        return UserRecord(self.histories[position], self.times[position])

    def forget(self, user_id: str) -> bool:
        """Drop a user's stored history; the vocabulary keeps a random tombstone id in the user's
        place (:meth:`semrec.vocab.IdVocabulary.erase`), not the id. ``False`` if unknown (a
        second call for the same user too)."""
        position = self.vocab.get(user_id)
        if position is None:
            return False
        self.histories[position] = np.zeros(0, dtype=np.int64)
        self.times[position] = np.zeros(0, dtype=np.int64)
        return self.vocab.erase(user_id)


def flatten(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr (n+1,) int64, values (sum n_u,) int64)``: ragged arrays in CSR form (for artifacts)."""
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = np.concatenate(parts).astype(np.int64) if len(parts) else np.zeros(0, np.int64)
    return indptr, values


def unflatten(indptr: np.ndarray, values: np.ndarray) -> list[np.ndarray]:
    """Inverse of :func:`flatten`."""
    return [values[indptr[u] : indptr[u + 1]] for u in range(len(indptr) - 1)]
