"""Approximate nearest-neighbour search of item text vectors for large catalogues (faiss HNSW).

An exact text query reads every item vector: 1M items x 512 float32 is 2 GiB of memory traffic
per query. Above :attr:`ANNConfig.min_items` the catalogue builds a faiss ``IndexHNSWFlat``
(inner product on the unit vectors, so the score is the exact cosine of each retrieved item) at
fit time, stores it in the artifact, adds items upserted after fit to it at once, and answers a
query vector with its ``candidates`` nearest items. :meth:`ANNIndex.cosine` turns that into the
dense row the pipeline expects: retrieved items carry their cosine, every other item the
smallest retrieved cosine (a floor: they are no nearer than that, up to the index's recall).
Below ``min_items`` search stays exact (the default for MovieLens-sized catalogues).
``benchmarks/scale.py --ann`` reports recall@10 against exact search and the latency of both.

References:
    Y. A. Malkov, D. A. Yashunin. Efficient and robust approximate nearest neighbor search using
    Hierarchical Navigable Small World graphs. IEEE TPAMI 2020, arXiv:1603.09320.
    J. Johnson, M. Douze, H. Jegou. Billion-scale similarity search with GPUs (faiss). 2017,
    arXiv:1702.08734.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, PositiveInt

from semrec.errors import SemrecError
from semrec.frozen import FrozenConfig


class ANNConfig(FrozenConfig):
    """When and how item text vectors are searched approximately (:mod:`semrec.pipeline.ann`)."""

    min_items: PositiveInt = 100_000
    """Catalogues with at least this many items get an HNSW index; smaller ones are searched exactly."""
    m: int = Field(32, ge=4, le=128)
    """HNSW graph degree (faiss ``M``): more is better recall, more memory (``4 * 2 * m`` bytes per item)."""
    ef_construction: int = Field(80, ge=8)
    """Candidate list while building (faiss ``efConstruction``)."""
    ef_search: int = Field(2_500, ge=8)
    """Candidate list while searching (faiss ``efSearch``; at least the number of results asked):
    2,500 reaches recall@10 0.96 against exact search on Book-Crossing (``benchmarks/scale.py --ann``;
    256 gave 0.93)."""
    candidates: PositiveInt = 1_000
    """Items retrieved per query vector, with their exact cosine; the rest of the row gets the floor."""


class ANNIndex:
    """A faiss HNSW inner-product index over ``(n_items, dim)`` unit vectors, positions = item positions.

    Args:
        index: A ``faiss.IndexHNSWFlat`` with ``METRIC_INNER_PRODUCT``.
        config: Its :class:`ANNConfig`.
    """

    def __init__(self, index, config: ANNConfig) -> None:
        self.index, self.config = index, config

    @staticmethod
    def _faiss():
        try:
            import faiss
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise SemrecError("approximate search needs `pip install faiss-cpu`") from exc
        return faiss

    @classmethod
    def build(cls, vectors: np.ndarray, config: ANNConfig) -> ANNIndex:
        """Index ``(n, dim) float32`` vectors (positions 0 .. n-1)."""
        faiss = cls._faiss()
        index = faiss.IndexHNSWFlat(int(vectors.shape[1]), config.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.ef_construction
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, config)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        """Append ``(m, dim)`` vectors: they get the next positions (items added after fit)."""
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.index.d))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(q, k) float32`` inner products and ``(q, k) int64`` positions (-1: fewer than ``k`` items)."""
        self.index.hnsw.efSearch = max(self.config.ef_search, k)
        scores, positions = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, positions

    def cosine(self, queries: np.ndarray, n_items: int) -> np.ndarray:
        """``(q, n_items) float32``: the retrieved candidates' cosine, the floor elsewhere (module docstring)."""
        k = min(self.config.candidates, len(self))
        scores, positions = self.search(queries, k)
        found = positions >= 0
        floor = np.where(found, scores, np.inf).min(axis=1)
        floor = np.where(np.isfinite(floor), floor, 0.0).astype(np.float32)
        out = np.repeat(floor[:, None], n_items, axis=1)
        rows = np.repeat(np.arange(len(queries)), k).reshape(len(queries), k)
        out[rows[found], positions[found]] = scores[found]
        return out

    def to_array(self) -> np.ndarray:
        """The index serialised as a ``uint8`` array (stored in the artifact)."""
        return np.asarray(self._faiss().serialize_index(self.index), dtype=np.uint8)

    @classmethod
    def from_array(cls, data: np.ndarray, config: ANNConfig) -> ANNIndex:
        """The index :meth:`to_array` stored."""
        return cls(cls._faiss().deserialize_index(np.asarray(data, dtype=np.uint8)), config)


def recall_at_k(index: ANNIndex, vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """Mean share of the exact top ``k`` (by inner product over ``vectors``) among the index's top
    ``k``, searched as the pipeline searches (:meth:`ANNIndex.cosine`: ``candidates`` at once)."""
    exact = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]
    _, approx = index.search(queries, max(k, min(index.config.candidates, len(index))))
    approx = approx[:, :k]
    return float(np.mean([len(set(e) & set(a)) / k for e, a in zip(exact.tolist(), approx.tolist())]))
