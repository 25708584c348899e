"""The item catalogue a fitted pipeline serves: metadata, ids, text embeddings, removals."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from semrec.data.tables import split_list
from semrec.errors import ArtifactError, QueryError
from semrec.features import FeatureSpec, Projection, item_features
from semrec.pipeline.ann import ANNIndex
from semrec.text import EncoderConfig, TextEncoder, TextTemplateConfig, build_encoder, render_texts
from semrec.vocab import IdVocabulary

MAX_TEXT_CHARS = 20_000
QUERY_MEMO = 64
"""Query vectors kept in memory (the last texts encoded; not on disk)."""
"""Query texts are cut to this many characters before encoding (encoders read ~256 tokens)."""


class Catalogue:
    """Items, their ids and text embeddings; grows with :meth:`upsert` between fits.

    Args:
        items: Item metadata (``item_id``, ``title`` ..., ``text``); row ``i`` is item position ``i``.
        embeddings: ``(n_items, dim) float32`` L2-normalised item text embeddings (PCA-projected
            when ``projection`` is set).
        encoder_config: How query texts and added items are encoded.
        encoder_identity: What produced ``embeddings``; a query encoder must have the same identity.
        template: Item row -> text template (for items added after fit).
        projection: PCA fitted on the catalogue, applied to every new vector, or ``None``.
        feature_spec: Side-feature spec learned at fit time (features of added items follow it).
        encoder: An already-loaded encoder of that identity (else loaded on first use).
    """

    def __init__(
        self,
        items: pd.DataFrame,
        embeddings: np.ndarray,
        encoder_config: EncoderConfig,
        encoder_identity: dict[str, Any],
        template: TextTemplateConfig,
        projection: Projection | None = None,
        feature_spec: FeatureSpec | None = None,
        encoder: TextEncoder | None = None,
    ) -> None:
        self.items = items.reset_index(drop=True)
        self.vocab = IdVocabulary(self.items["item_id"], "item")
        self.embeddings = embeddings
        self.encoder_config, self.encoder_identity, self.template = encoder_config, encoder_identity, template
        self.projection, self.feature_spec = projection, feature_spec
        self.removed: set[int] = set()
        self.ann: ANNIndex | None = None  # approximate text search (large catalogues; semrec.pipeline.ann)
        self.ann_stale: set[int] = set()  # items whose vector changed after indexing (scored exactly)
        self._encoder = encoder
        self._derived: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def encoder(self) -> TextEncoder:
        """The text encoder (loaded on first use) matching :attr:`encoder_identity`.

        Raises:
            ArtifactError: The configured encoder now produces vectors of another identity.
        """
        if self._encoder is None:
            encoder = build_encoder(self.encoder_config)
            if dict(encoder.identity) != self.encoder_identity:
                raise ArtifactError(
                    f"text encoder identity changed since fit: artifact {self.encoder_identity}, "
                    f"now {encoder.identity}; refit"
                )
            self._encoder = encoder
        return self._encoder

    def embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        """``(len(texts), dim) float32`` vectors in the item-embedding space (PCA-projected when configured)."""
        vectors = np.asarray(self.encoder.encode(list(texts), kind=kind), dtype=np.float32)
        return vectors if self.projection is None else self.projection.apply(vectors)

    def text_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine of each query text with every item text.

        Returns:
            ``(len(texts), n_items) float32`` in [-1, 1].

        Raises:
            QueryError: A text is empty or whitespace only.
        """
        return self.cosine(self.query_vectors(texts))

    def cosine(self, vectors: np.ndarray) -> np.ndarray:
        """``(q, n_items) float32`` cosine of unit query vectors with every item: exact, or through
        :attr:`ann` when the catalogue has an index (retrieved items exact, the rest a floor)."""
        if self.ann is None or len(self.ann) != len(self):
            return vectors @ self.embeddings.T
        out = self.ann.cosine(vectors, len(self))
        if self.ann_stale:
            stale = np.fromiter(sorted(self.ann_stale), dtype=np.int64)
            out[:, stale] = vectors @ self.embeddings[stale].T
        return out

    def query_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim) float32`` query embeddings (whitespace folded, cut to ``MAX_TEXT_CHARS``).

        Raises:
            QueryError: A text is empty or whitespace only.
        """
        cleaned = []
        for text in texts:
            stripped = " ".join(str(text).split())
            if not stripped:
                raise QueryError("text query is empty (or whitespace only); give some words or omit it")
            cleaned.append(stripped[:MAX_TEXT_CHARS])
        # a request reads its text more than once (intent aspects, the text route): encode each once
        memo = self._derived.setdefault("query-memo", OrderedDict())
        found = {t: v for t in dict.fromkeys(cleaned) if (v := memo.get(t)) is not None}
        missing = [t for t in dict.fromkeys(cleaned) if t not in found]
        if missing:
            for text, vector in zip(missing, self.embed(missing, "query")):
                found[text] = memo[text] = vector
            while len(memo) > QUERY_MEMO:
                try:
                    memo.popitem(last=False)
                except KeyError:  # another thread emptied it first
                    break
        return np.stack([found[t] for t in cleaned]) if cleaned else self.embed([], "query")

    def derived(self, key: str) -> Any:
        """A structure derived from this catalogue version (``None``: not derived yet, or the catalogue changed)."""
        return self._derived.get(key)

    def derive(self, key: str, value: Any) -> Any:
        """Keep ``value`` as derived from this catalogue version (dropped by :meth:`upsert`); returns it."""
        self._derived[key] = value
        return value

    def titles(self, item_ids: Sequence[str]) -> list[str]:
        """Display titles (``title`` column, else the id)."""
        if "titles" not in self._derived:
            column = self.items["title"] if "title" in self.items.columns else self.items["item_id"]
            self._derived["titles"] = np.asarray([str(t) for t in column], dtype=object)
        return self._derived["titles"][self.vocab.index(list(item_ids))].tolist()

    def tags(self) -> list[object]:
        """The ``genres`` value of every item (``None`` where missing or when there is no such column)."""
        return self.items["genres"].tolist() if "genres" in self.items else [None] * len(self)

    def features_of(self, start: int) -> np.ndarray | None:
        """``(n_items - start, n_features) float32`` side features of items from position ``start`` on."""
        if self.feature_spec is None:
            return None
        key = f"features:{start}"
        if key not in self._derived:
            self._derived[key] = item_features(self.items.iloc[start:], self.feature_spec)
        return self._derived[key]

    def filter_mask(self, filters: dict[str, list[str]]) -> np.ndarray:
        """``(n_items,) bool``: items that pass every attribute filter.

        Raises:
            QueryError: A filter names a field the items do not have.
        """
        keep = np.ones(len(self), dtype=bool)
        for name, wanted in filters.items():
            if name not in self.items.columns:
                fields = ", ".join(map(str, self.items.columns))
                raise QueryError(f"unknown filter field {name!r}; item fields: {fields}")
            key = f"filter:{name}"
            if key not in self._derived:
                self._derived[key] = [set(split_list(v)) for v in self.items[name]]
            wanted_set = {str(w) for w in wanted}
            keep &= np.fromiter((bool(wanted_set & values) for values in self._derived[key]), bool, len(self))
        return keep

    def upsert(self, item_id: str, fields: dict[str, Any]) -> int:
        """Add or update an item from its fields (rendered with the template, encoded at once).

        Returns:
            The item's position.

        Raises:
            TemplateError: The text template names a field the item lacks entirely.
        """
        row: dict[str, Any] = {column: None for column in self.items.columns if column != "text"}
        row.update({k: v for k, v in fields.items() if k not in ("item_id", "text")})
        row["item_id"] = str(item_id)
        text = render_texts(pd.DataFrame([row]), self.template, "item_id")[0] or str(item_id)
        vector = self.embed([text], "document")[0]
        row["text"] = text
        position = self.vocab.get(item_id)
        if position is None:
            position = len(self.vocab)
            self.items = pd.concat([self.items, pd.DataFrame([row])], ignore_index=True)
            self.vocab = IdVocabulary(self.items["item_id"], "item")
            self.embeddings = np.vstack([self.embeddings, vector[None, :]])
            if self.ann is not None:
                self.ann.add(vector[None, :])  # searchable at once
        else:
            for column, value in row.items():
                if column not in self.items.columns:
                    self.items[column] = None
                self.items.at[position, column] = value
            self.embeddings = self.embeddings.copy()
            self.embeddings[position] = vector
            self.ann_stale.add(position)  # the index keeps the old vector: scored exactly from now on
        self.removed.discard(position)
        self._derived.clear()
        return position

    def remove(self, item_id: str) -> bool:
        """Never recommend ``item_id`` again (until it is upserted). Returns ``False`` if unknown."""
        position = self.vocab.get(item_id)
        if position is None:
            return False
        self.removed.add(position)
        return True
