"""Mapping between external ids (the caller's) and dense internal positions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from semrec.errors import UnknownIdError


class IdVocabulary:
    """A bijection between external ids and dense positions ``0 .. n-1``.

    External ids are always strings (``"1"`` for MovieLens user 1), so ids read from CSV,
    JSON and the command line compare equal. The vocabulary is saved inside every artifact,
    next to the arrays it indexes.

    Args:
        ids: Unique external ids in position order.
        kind: ``"item"`` or ``"user"``; used in error messages only.

    Raises:
        ValueError: If ``ids`` holds duplicates.
    """

    def __init__(self, ids: Iterable[object], kind: str = "item") -> None:
        self.ids: np.ndarray = np.asarray([str(i) for i in ids], dtype=str)  # (n,) unicode
        self.kind = kind
        self._index: dict[str, int] = {i: n for n, i in enumerate(self.ids.tolist())}
        if len(self._index) != len(self.ids):
            raise ValueError(f"duplicate {kind} ids in vocabulary")

    def __len__(self) -> int:
        return len(self.ids)

    def erase(self, external_id: object) -> bool:
        """Replace ``external_id`` by a random tombstone id (``"erased:<32 hex>"``) at the same
        position, so arrays indexed by position stay aligned and no byte of the id remains in
        the vocabulary (or an artifact saved from it). ``False`` if the id is unknown."""
        import uuid

        position = self._index.pop(str(external_id), None)
        if position is None:
            return False
        tombstone = f"erased:{uuid.uuid4().hex}"
        ids = self.ids.tolist()
        ids[position] = tombstone
        self.ids = np.asarray(ids, dtype=str)
        self._index[tombstone] = position
        return True

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self._index

    def get(self, external_id: object) -> int | None:
        """Position of ``external_id``, or ``None`` when unknown."""
        return self._index.get(str(external_id))

    def index(self, external_ids: Sequence[object]) -> np.ndarray:
        """Positions of ``external_ids``.

        Returns:
            ``(len(external_ids),) int64`` positions.

        Raises:
            UnknownIdError: Naming the first id that is not in the vocabulary.
        """
        out = np.empty(len(external_ids), dtype=np.int64)
        for n, external_id in enumerate(external_ids):
            position = self._index.get(str(external_id))
            if position is None:
                raise UnknownIdError(f"unknown {self.kind} id {str(external_id)!r}")
            out[n] = position
        return out
