"""Attribute-aware popularity: what users like this one (age, gender, occupation ...) interact with.

For a user known only by attributes (cold start, no history yet) it replaces global popularity:
``score_i = sum_f log((c_{f,v_f,i} + 1) / (N_{f,v_f} + n_items))`` over the user's attribute
values ``v_f``, where ``c_{f,v,i}`` counts users with value ``v`` of field ``f`` who interacted
with item ``i`` (a naive-Bayes combination of per-attribute popularity, add-one smoothed).
Numeric fields are cut into quartile bins learned at fit time.

References:
    M. Pazzani. A Framework for Collaborative, Content-Based and Demographic Filtering.
    Artificial Intelligence Review 13, 1999, doi:10.1023/A:1006544522159.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from semrec.scorers.base import History, histories_to_csr


class DemographicPrior:
    """Per-attribute-value item counts.

    Attributes:
        fields: Attribute names used.
        values: ``{field: [value, ...]}`` categories (numeric fields: bin labels ``"q0".."q3"``).
        edges: ``{field: (3,) float64}`` quartile edges of numeric fields.
        counts: ``{field: (n_values, n_items) float32}``.
    """

    def __init__(self, fields: list[str], values: dict[str, list[str]], edges: dict[str, np.ndarray],
                 counts: dict[str, np.ndarray]) -> None:  # fmt: skip
        self.fields, self.values, self.edges, self.counts = fields, values, edges, counts

    @classmethod
    def fit(cls, users: pd.DataFrame, user_ids: Sequence[str], histories: Sequence[History], n_items: int,
            fields: Sequence[str] | None = None, max_values: int = 200) -> DemographicPrior:  # fmt: skip
        """Count, per attribute value, the users who interacted with each item.

        Args:
            users: User table (``user_id`` + attributes).
            user_ids: External id of each history, same order as ``histories``.
            histories: Item positions per user.
            fields: Attributes to use (default: every column except ``user_id``/``text`` with at most
                ``max_values`` distinct values, or numeric).
        """
        table = users.set_index("user_id")
        candidates = fields or [c for c in table.columns if c not in ("text", "zip_code")]
        matrix = histories_to_csr(list(histories), n_items)
        rows = table.reindex([str(u) for u in user_ids])
        kept, values, edges, counts = [], {}, {}, {}
        for field in candidates:
            column = rows[field]
            numeric = pd.to_numeric(column, errors="coerce")
            if numeric.notna().mean() > 0.9:
                edges[field] = np.nanquantile(numeric.to_numpy(dtype=float), [0.25, 0.5, 0.75])
                labels = [None if np.isnan(x) else f"q{int(np.searchsorted(edges[field], x, side='right'))}"
                          for x in numeric.to_numpy(dtype=float)]  # fmt: skip
            else:
                labels = [None if pd.isna(x) or str(x) == "" else str(x) for x in column]
            distinct = sorted({label for label in labels if label is not None})
            if not distinct or len(distinct) > max_values:
                edges.pop(field, None)
                continue
            index = {label: n for n, label in enumerate(distinct)}
            indicator = np.zeros((len(distinct), len(labels)), dtype=np.float32)
            for row, label in enumerate(labels):
                if label is not None:
                    indicator[index[label], row] = 1.0
            counts[field] = np.asarray(matrix.T.dot(indicator.T).T, dtype=np.float32)  # (n_values, n_items)
            values[field], kept = distinct, [*kept, field]
        return cls(kept, values, edges, counts)

    def label(self, field: str, value: object) -> str | None:
        if value is None or value == "":
            return None
        if field in self.edges:
            try:
                return f"q{int(np.searchsorted(self.edges[field], float(value), side='right'))}"
            except (TypeError, ValueError):
                return None
        return str(value)

    def score(self, attributes: Mapping[str, object], n_items: int) -> np.ndarray | None:
        """``(n_items,) float32`` log-prior for a user's attributes; ``None`` if none is known."""
        total, used = np.zeros(n_items, dtype=np.float64), 0
        for field in self.fields:
            label = self.label(field, attributes.get(field))
            if label is None or label not in self.values[field]:
                continue
            counts = self.counts[field][self.values[field].index(label)]
            counts = np.pad(counts, (0, max(0, n_items - len(counts))))
            total += np.log((counts + 1.0) / (counts.sum() + n_items))
            used += 1
        return None if used == 0 else total.astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"fields": np.asarray(self.fields, dtype=str)}
        for field in self.fields:
            out[f"values/{field}"] = np.asarray(self.values[field], dtype=str)
            out[f"counts/{field}"] = self.counts[field]
            if field in self.edges:
                out[f"edges/{field}"] = self.edges[field]
        return out

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> DemographicPrior:
        fields = state["fields"].tolist()
        return cls(fields, {f: state[f"values/{f}"].tolist() for f in fields},
                   {f: state[f"edges/{f}"] for f in fields if f"edges/{f}" in state},
                   {f: state[f"counts/{f}"] for f in fields})  # fmt: skip
