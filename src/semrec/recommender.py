"""The recommendation pipeline: query -> history / text -> scorer -> filter -> top-k.

One request type (:class:`Query`) serves every path:

* a known ``user_id``: the stored history (plus any request-time ``history``) goes to the scorer;
* an unknown user with a request-time ``history``: folded in the same way (no retrain);
* no history but ``text`` (a self-description, a need): the text is encoded and matched
  against the item text embeddings (cold start);
* nothing usable: the most popular items (fallback), with a note saying why.

A fitted :class:`Recommender` holds everything serving needs (vocabularies, item metadata,
text embeddings, scorer state, each known user's history) and saves to / loads from an
artifact folder without the training data.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from semrec.data.tables import Dataset
from semrec.encoders import EmbeddingCache, EncoderConfig, TextEncoder, build_encoder
from semrec.errors import ArtifactError, QueryError
from semrec.explain import Explainer, Explanation
from semrec.ranking import top_k
from semrec.rerank import Reranker, build_reranker
from semrec.scorers import MostPopularScorer, Scorer, TrainData, scorer_class
from semrec.text import TextTemplateConfig, render_texts
from semrec.vocab import IdVocabulary

logger = logging.getLogger(__name__)

FORMAT = "semrec-artifact"
FORMAT_VERSION = 1
MAX_TEXT_CHARS = 20_000
"""Query texts are cut to this many characters before encoding (encoders read ~256 tokens)."""


class RecommenderConfig(BaseModel):
    """Everything that defines a fitted recommender; saved as ``config.json`` in the artifact."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scorer: str = "ease"
    """Registered scorer name: ``most-popular``, ``content-profile``, ``ease``, ``als``."""
    scorer_config: dict[str, Any] = Field(default_factory=dict)
    """Hyper-parameters of the scorer, validated by its ``Config`` (empty: its defaults)."""
    encoder: EncoderConfig = EncoderConfig()
    """Text encoder used for item texts and query texts."""
    text: TextTemplateConfig = TextTemplateConfig()
    """Item row -> text template."""

    @field_validator("scorer")
    @classmethod
    def _known_scorer(cls, name: str) -> str:
        scorer_class(name)
        return name

    def build_scorer(self) -> Scorer:
        """A fresh, unfitted scorer as configured.

        Raises:
            pydantic.ValidationError: ``scorer_config`` does not fit the scorer's ``Config``.
        """
        cls = scorer_class(self.scorer)
        return cls(cls.Config(**self.scorer_config))

    def digest(self) -> str:
        """sha256 of the canonical JSON form."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class Query(BaseModel):
    """Who or what to recommend for. At least nothing: an empty query gets popular items."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    """A known user's id; unknown ids fall back to ``history`` / ``text`` / popularity."""
    history: list[str] = Field(default_factory=list)
    """Item ids the user interacted with, oldest first, in addition to any stored history."""
    text: str | None = None
    """Free text: a self-description or a need; must not be empty or whitespace only."""
    k: int = Field(10, ge=1, le=1000)
    """Number of items to return."""
    exclude: list[str] = Field(default_factory=list)
    """Item ids never to return."""
    exclude_seen: bool = True
    """Remove items in the history from the result."""
    diversity: float = Field(0.0, ge=0.0, le=1.0)
    """Re-ranking strength: 0 keeps the relevance order, 1 is most diverse / most calibrated."""
    reranker: Literal["mmr", "mmr-tags", "calibrated"] = "mmr"
    """``mmr`` (text-embedding similarity), ``mmr-tags`` (genre Jaccard), ``calibrated`` (Steck 2018)."""
    explain: bool = False
    """Attach a grounded :class:`~semrec.explain.Explanation` to every item."""


@dataclass
class Recommendation:
    """A ranked list.

    Attributes:
        item_ids: ``(n,) str`` external ids, best first (``n <= k``).
        scores: ``(n,) float32`` scores of the answering source; comparable within this list only.
        source: What answered: a scorer name, ``"text"`` or ``"most-popular"``.
        notes: Human-readable remarks (fallbacks taken, ids ignored).
        explanations: One :class:`~semrec.explain.Explanation` per item when the query asked.
    """

    item_ids: np.ndarray
    scores: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)
    explanations: list[Explanation] | None = None


def _versions() -> dict[str, str]:
    out = {}
    for name in ("semrec", "numpy", "scipy", "pandas", "implicit", "torch", "sentence-transformers", "transformers"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def ordered_histories(interactions: pd.DataFrame, users: IdVocabulary, items: IdVocabulary) -> list[np.ndarray]:
    """Each user's item positions sorted by (timestamp, item position), oldest first.

    Returns:
        One ``(n_u,) int64`` array per position of ``users`` (empty for users without rows).
    """
    user_idx = users.index(interactions["user_id"].tolist())
    item_idx = items.index(interactions["item_id"].tolist())
    order = np.lexsort((item_idx, interactions["timestamp"].to_numpy(), user_idx))
    user_sorted, item_sorted = user_idx[order], item_idx[order]
    bounds = np.searchsorted(user_sorted, np.arange(len(users) + 1))
    return [item_sorted[bounds[u] : bounds[u + 1]] for u in range(len(users))]


def item_texts(items: pd.DataFrame, config: TextTemplateConfig) -> list[str]:
    """The text of each item row, as the encoder reads it."""
    return render_texts(items, config, "item_id")


def encode_items(
    texts: Sequence[str], encoder: TextEncoder, cache: EmbeddingCache | None, progress: bool = False
) -> np.ndarray:
    """``(len(texts), dim) float32`` item embeddings, through ``cache`` when given."""
    if cache is None:
        return encoder.encode(texts, kind="document", progress=progress)
    return cache.encode(encoder, texts, kind="document", progress=progress)


class Recommender:
    """A fitted pipeline; build it with :meth:`fit` or :meth:`load`.

    Attributes:
        config: The :class:`RecommenderConfig`.
        items: Item metadata (``item_id``, ``title`` ..., ``text``), row ``i`` is item position ``i``.
        item_vocab, user_vocab: External id <-> position maps.
        histories: One ``(n_u,) int64`` array per known user, oldest first.
        item_embeddings: ``(n_items, dim) float32`` L2-normalised item text embeddings.
        encoder_identity: What produced ``item_embeddings``; query texts must use the same encoder.
        scorer: The main model. ``popularity``: the fallback.
    """

    def __init__(
        self,
        config: RecommenderConfig,
        items: pd.DataFrame,
        user_vocab: IdVocabulary,
        histories: list[np.ndarray],
        item_embeddings: np.ndarray,
        encoder_identity: dict[str, Any],
        scorer: Scorer,
        popularity: MostPopularScorer,
        encoder: TextEncoder | None = None,
    ) -> None:
        self.config = config
        self.items = items.reset_index(drop=True)
        self.item_vocab = IdVocabulary(self.items["item_id"], "item")
        self.user_vocab = user_vocab
        self.histories = histories
        self.item_embeddings = item_embeddings
        self.encoder_identity = encoder_identity
        self.scorer = scorer
        self.popularity = popularity
        self._encoder = encoder
        scorer.bind_embeddings(item_embeddings)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls,
        dataset: Dataset,
        config: RecommenderConfig | None = None,
        encoder: TextEncoder | None = None,
        cache: EmbeddingCache | None = None,
        progress: bool = False,
    ) -> Recommender:
        """Encode item texts, fit the scorer on every interaction, keep each user's history.

        Args:
            dataset: Validated tables.
            config: Defaults to :class:`RecommenderConfig` ``()`` (EASE, MiniLM).
            encoder: Overrides ``config.encoder`` (tests pass a :class:`~semrec.encoders.HashingEncoder`).
            cache: Embedding cache; ``None`` encodes without caching.
            progress: Show progress bars.

        Raises:
            pydantic.ValidationError: Bad scorer hyper-parameters.
            SemrecError: The encoder cannot be loaded.
        """
        config = config or RecommenderConfig()
        scorer = config.build_scorer()
        encoder = encoder or build_encoder(config.encoder)
        items = dataset.items.reset_index(drop=True).copy()
        item_vocab = IdVocabulary(items["item_id"], "item")
        user_ids = dataset.interactions["user_id"].drop_duplicates().tolist()
        user_vocab = IdVocabulary(user_ids, "user")
        histories = ordered_histories(dataset.interactions, user_vocab, item_vocab)
        texts = item_texts(items, config.text)
        items["text"] = texts
        started = time.perf_counter()
        embeddings = encode_items(texts, encoder, cache, progress)
        logger.info("encoded %d item texts in %.1f s", len(texts), time.perf_counter() - started)
        data = TrainData(histories, len(item_vocab), embeddings)
        popularity = MostPopularScorer().fit(data)
        started = time.perf_counter()
        scorer.fit(data)
        logger.info("fitted %s in %.1f s", scorer.name, time.perf_counter() - started)
        return cls(config, items, user_vocab, histories, embeddings, dict(encoder.identity), scorer, popularity, encoder)

    # ------------------------------------------------------------------ serving
    @property
    def encoder(self) -> TextEncoder:
        """The text encoder (loaded on first use) matching :attr:`encoder_identity`.

        Raises:
            ArtifactError: The configured encoder now produces vectors of another identity.
        """
        if self._encoder is None:
            encoder = build_encoder(self.config.encoder)
            if dict(encoder.identity) != self.encoder_identity:
                raise ArtifactError(
                    f"text encoder identity changed since fit: artifact {self.encoder_identity}, now {encoder.identity}; refit"
                )
            self._encoder = encoder
        return self._encoder

    def titles(self, item_ids: Sequence[str]) -> list[str]:
        """Display titles (``title`` column, else the id)."""
        positions = self.item_vocab.index(list(item_ids))
        if "title" not in self.items.columns:
            return [str(i) for i in item_ids]
        return [str(t) for t in self.items["title"].to_numpy()[positions]]

    def text_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine of each query text with every item text.

        Returns:
            ``(len(texts), n_items) float32`` in [-1, 1].

        Raises:
            QueryError: A text is empty or whitespace only.
        """
        cleaned = []
        for text in texts:
            stripped = " ".join(str(text).split())
            if not stripped:
                raise QueryError("text query is empty (or whitespace only); give some words or omit it")
            cleaned.append(stripped[:MAX_TEXT_CHARS])
        queries = self.encoder.encode(cleaned, kind="query")  # (n, dim)
        return queries @ self.item_embeddings.T

    def history_of(self, user_id: str) -> np.ndarray | None:
        """Stored history of a known user (oldest first), or ``None`` if unknown."""
        position = self.user_vocab.get(user_id)
        return None if position is None else self.histories[position]

    def recommend(self, query: Query) -> Recommendation:
        """Answer one query through the fallback chain (history -> text -> popular).

        Raises:
            QueryError: Empty text, or a ``history`` item id not in the catalogue.
        """
        notes: list[str] = []
        history = np.zeros(0, dtype=np.int64)
        if query.user_id is not None:
            stored = self.history_of(query.user_id)
            if stored is None:
                notes.append(f"user {query.user_id!r} is unknown; using the request's history/text instead")
            else:
                history = stored
        if query.history:
            unknown = [i for i in query.history if i not in self.item_vocab]
            if unknown:
                raise QueryError(f"history names unknown item id(s): {', '.join(map(repr, unknown[:5]))}")
            history = np.concatenate([history, self.item_vocab.index(query.history)])
        if query.text is not None and not query.text.strip():
            raise QueryError("text query is empty (or whitespace only); give some words or omit it")
        if len(history):
            scores, source = self.scorer.score([history])[0], self.scorer.name
            if query.text is not None:
                notes.append("text ignored: the user has a history (text + history blending comes later)")
        elif query.text is not None:
            scores, source = self.text_scores([query.text])[0], "text"
        else:
            scores, source = self.popularity.score([history])[0], "most-popular"
            notes.append("no history and no text: most popular items")
        excluded = list(history) if query.exclude_seen else []
        excluded += [p for p in (self.item_vocab.get(i) for i in query.exclude) if p is not None]
        mask = sp.csr_matrix(
            (np.ones(len(excluded), np.float32), (np.zeros(len(excluded), np.int64), np.asarray(excluded, np.int64))),
            shape=(1, len(self.item_vocab)),
        )
        pool = query.k if query.diversity == 0 else max(5 * query.k, 50)
        indices, values = top_k(scores[None, :], pool, mask)
        keep = indices[0] >= 0
        chosen, chosen_scores = indices[0][keep][: query.k], values[0][keep][: query.k]
        if query.diversity > 0:
            chosen = self.reranker(query.reranker).rerank(indices[0][keep], values[0][keep], history, query.k,
                                                          query.diversity)  # fmt: skip
            chosen_scores = scores[chosen]
        explanations = None
        if query.explain:
            explanations = [self.explainer.explain(int(i), history, query.text, source) for i in chosen]
        return Recommendation(self.item_vocab.ids[chosen], chosen_scores, source, notes, explanations)

    def reranker(self, name: str) -> Reranker:
        """The re-ranker ``name`` over this catalogue (built once); tags come from ``genres`` if present."""
        cache = self.__dict__.setdefault("_rerankers", {})
        if name not in cache:
            tags = self.items["genres"].tolist() if "genres" in self.items else [None] * len(self.items)
            cache[name] = build_reranker(name, self.item_embeddings, tags)
        return cache[name]

    @property
    def explainer(self) -> Explainer:
        """The :class:`~semrec.explain.Explainer` over this catalogue (built on first use)."""
        if getattr(self, "_explainer", None) is None:
            self._explainer = Explainer(self.items, self.item_embeddings, self.popularity.counts,
                                        getattr(self.scorer, "contributions", None))  # fmt: skip
        return self._explainer

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write the artifact folder atomically (a temporary sibling renamed into place).

        Files: ``manifest.json`` (format, versions, config hash, encoder identity, file hashes),
        ``config.json``, ``arrays.npz`` (no pickles), ``items.parquet``.

        Returns:
            The artifact folder.
        """
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            lengths = np.fromiter((len(h) for h in self.histories), dtype=np.int64, count=len(self.histories))
            arrays = {
                "user_ids": self.user_vocab.ids,
                "history_indptr": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                "history_indices": np.concatenate(self.histories).astype(np.int64) if self.histories else np.zeros(0, np.int64),
                "item_embeddings": self.item_embeddings.astype(np.float32),
                "popularity/counts": self.popularity.counts,
                **{f"scorer/{k}": v for k, v in self.scorer.get_state().items()},
            }
            np.savez(tmp / "arrays.npz", **arrays)
            self.items.to_parquet(tmp / "items.parquet", index=False)
            (tmp / "config.json").write_text(self.config.model_dump_json(indent=2))
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "python": platform.python_version(),
                "versions": _versions(),
                "scorer": self.scorer.name,
                "config_sha256": self.config.digest(),
                "encoder": self.encoder_identity,
                "n_items": len(self.item_vocab),
                "n_users": len(self.user_vocab),
                "files": {name: _sha256(tmp / name) for name in ("arrays.npz", "items.parquet", "config.json")},
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
            if directory.exists():
                old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
                directory.replace(old)
                tmp.replace(directory)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.replace(directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory: str | Path, encoder: TextEncoder | None = None) -> Recommender:
        """Load an artifact written by :meth:`save`; needs no training data.

        Args:
            directory: The artifact folder.
            encoder: Use this encoder for query texts (must have the artifact's identity).

        Raises:
            ArtifactError: Missing folder or file, a file whose sha256 differs from the manifest,
                an unsupported format version, or an encoder of another identity.
        """
        directory = Path(directory)
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise ArtifactError(f"{directory}: not a semrec artifact (no manifest.json); run `semrec fit` first")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{manifest_path}: invalid JSON ({exc})") from exc
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(f"{directory}: unsupported artifact format {manifest.get('format')} v{manifest.get('format_version')}")
        for name, digest in manifest["files"].items():
            path = directory / name
            if not path.is_file():
                raise ArtifactError(f"{directory}: {name} is missing")
            if _sha256(path) != digest:
                raise ArtifactError(f"{path}: sha256 differs from the manifest (corrupted or edited)")
        config = RecommenderConfig.model_validate_json((directory / "config.json").read_text())
        with np.load(directory / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        items = pd.read_parquet(directory / "items.parquet")
        n_items = len(items)
        indptr, indices = arrays["history_indptr"], arrays["history_indices"]
        histories = [indices[indptr[u] : indptr[u + 1]] for u in range(len(indptr) - 1)]
        scorer = config.build_scorer()
        scorer.set_state({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("scorer/")}, n_items)
        popularity = MostPopularScorer()
        popularity.set_state({"counts": arrays["popularity/counts"]}, n_items)
        if encoder is not None and dict(encoder.identity) != manifest["encoder"]:
            raise ArtifactError(f"encoder identity {encoder.identity} differs from the artifact's {manifest['encoder']}")
        return cls(config, items, IdVocabulary(arrays["user_ids"], "user"), histories, arrays["item_embeddings"],
                   manifest["encoder"], scorer, popularity, encoder)  # fmt: skip


def _sha256(path: Path) -> str:
    from semrec.data.fetch import sha256_file

    return sha256_file(path)
