"""Item side features from the items table: what a cold item is known by besides its text embedding.

Every column other than the id becomes features, by what it holds:

- a numeric column (``year``, ``price``): one-hot quantile bins (edges from the catalogue, so a new
  item lands in the bin its value falls in) plus a missing flag;
- a list column with few distinct tokens (``genres`` as ``"A|B"``, a ``category``): multi-hot;
- any other (free text: ``overview``, ``director``): a presence flag, because what a catalogue
  bothered to describe is itself a signal (on MovieLens, well-known films have plots and casts).

The spec (bin edges, token lists) is learned once from the catalogue and stored with the model,
so new items are featurised the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from semrec.data.tables import split_list


@dataclass(frozen=True)
class FeatureSpec:
    """How each item column becomes features.

    Attributes:
        bins: Numeric column -> inner quantile edges (``len + 1`` bins, plus a missing flag).
        tokens: List column -> its sorted distinct tokens (multi-hot).
        flags: Columns featurised as "present / missing".
    """

    bins: dict[str, list[float]] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """One name per feature column, in matrix order."""
        out = []
        for column, edges in self.bins.items():
            out += [f"{column}:bin{b}" for b in range(len(edges) + 1)] + [f"{column}:missing"]
        for column, tokens in self.tokens.items():
            out += [f"{column}={t}" for t in tokens]
        return out + [f"{column}:present" for column in self.flags]

    def to_json(self) -> str:
        return json.dumps({"bins": self.bins, "tokens": self.tokens, "flags": self.flags}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        raw = json.loads(text)
        return cls(raw["bins"], raw["tokens"], raw["flags"])


def _present(values: pd.Series) -> np.ndarray:
    return values.notna().to_numpy() & (values.astype(str).str.strip() != "").to_numpy()


def learn_spec(items: pd.DataFrame, id_column: str = "item_id", n_bins: int = 8, max_tokens: int = 64) -> FeatureSpec:
    """Learn a :class:`FeatureSpec` from a catalogue.

    Args:
        items: The items table (one row per item).
        n_bins: Quantile bins per numeric column (fewer when values repeat).
        max_tokens: A ``|``-separated column with at most this many distinct tokens is multi-hot.
    """
    spec = FeatureSpec()
    for column in items.columns:
        if column == id_column:
            continue
        values = items[column]
        present = _present(values)
        if not present.any():
            continue
        numeric = pd.to_numeric(values[present], errors="coerce")
        if numeric.notna().all() and numeric.nunique() > 2:
            quantiles = np.quantile(numeric.to_numpy(dtype=np.float64), np.linspace(0, 1, n_bins + 1)[1:-1])
            spec.bins[column] = sorted({float(q) for q in quantiles})
            continue
        tokens = sorted({t for v in values[present] for t in split_list(str(v))})
        if len(tokens) <= max_tokens and len(tokens) < 0.5 * present.sum():
            spec.tokens[column] = tokens
        elif not present.all():
            spec.flags.append(column)
    return spec


def item_features(items: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """``(len(items), len(spec.names)) float32`` features of ``items`` under ``spec``.

    Columns the spec names but ``items`` lacks count as missing (all-zero or the missing flag).
    """
    blocks = []
    n = len(items)
    for column, edges in spec.bins.items():
        values = pd.to_numeric(items[column], errors="coerce") if column in items else pd.Series([np.nan] * n)
        block = np.zeros((n, len(edges) + 2), dtype=np.float32)
        known = values.notna().to_numpy()
        block[np.flatnonzero(known), np.searchsorted(edges, values[known].to_numpy(), side="right")] = 1.0
        block[~known, -1] = 1.0
        blocks.append(block)
    for column, tokens in spec.tokens.items():
        position = {t: i for i, t in enumerate(tokens)}
        block = np.zeros((n, len(tokens)), dtype=np.float32)
        if column in items:
            for row, value in enumerate(items[column]):
                if isinstance(value, str):
                    for token in split_list(value):
                        if token in position:
                            block[row, position[token]] = 1.0
        blocks.append(block)
    for column in spec.flags:
        flag = _present(items[column]) if column in items else np.zeros(n, dtype=bool)
        blocks.append(flag.astype(np.float32)[:, None])
    return np.hstack(blocks) if blocks else np.zeros((n, 0), dtype=np.float32)
