"""Attribute priors: what users like this one (age, gender, occupation ...) interact with.

Two priors answer for a user known only by attributes; each has a ``name`` the pipeline labels
its answers with. :class:`DemographicPrior` (``"demographic-popularity"``) is attribute-aware
popularity:

``score_i = sum_f log((c_{f,v_f,i} + 1) / (N_{f,v_f} + n_items))`` over the user's attribute
values ``v_f``, where ``c_{f,v,i}`` counts users with value ``v`` of field ``f`` who interacted
with item ``i`` (a naive-Bayes combination of per-attribute popularity, add-one smoothed).
Numeric fields are cut into quartile bins learned at fit time. :class:`FactorPrior`
(``"attribute-factors"``) maps attributes to items through a LightFM factorisation model.

References:
    M. Pazzani. A Framework for Collaborative, Content-Based and Demographic Filtering.
    Artificial Intelligence Review 13, 1999, doi:10.1023/A:1006544522159.
    M. Kula. Metadata Embeddings for User and Item Cold-start Recommendations. CBRecSys 2015,
    arXiv:1507.08439.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, SupportsFloat, SupportsIndex

import numpy as np
import pandas as pd

from semrec.scorers.base import History, histories_to_csr


@dataclass(frozen=True)
class AttributedHistories:
    """Training users for a prior.

    Attributes:
        users: User table (``user_id`` + attributes).
        user_ids: External id of each history, same order as ``histories``.
        histories: Item positions per user.
        n_items: Catalogue size.
    """

    users: pd.DataFrame
    user_ids: Sequence[str]
    histories: Sequence[History]
    n_items: int


class DemographicPrior:
    """Per-attribute-value item counts.

    Attributes:
        name: ``"demographic-popularity"``, the label of answers it gives.
        fields: Attribute names used.
        values: ``{field: [value, ...]}`` categories (numeric fields: bin labels ``"q0".."q3"``).
        edges: ``{field: (3,) float64}`` quartile edges of numeric fields.
        counts: ``{field: (n_values, n_items) float32}``.
    """

    name: ClassVar[str] = "demographic-popularity"

    def __init__(
        self,
        fields: list[str],
        values: dict[str, list[str]],
        edges: dict[str, np.ndarray],
        counts: dict[str, np.ndarray],
    ) -> None:
        self.fields, self.values, self.edges, self.counts = fields, values, edges, counts

    @classmethod
    def fit(
        cls, data: AttributedHistories, fields: Sequence[str] | None = None, max_values: int = 200
    ) -> DemographicPrior:
        """Count, per attribute value, the users who interacted with each item.

        Args:
            data: The training users.
            fields: Attributes to use (default: every column except ``user_id``/``text`` with at most
                ``max_values`` distinct values, or numeric).
        """
        users, user_ids, histories, n_items = data.users, data.user_ids, data.histories, data.n_items
        table = users.set_index("user_id")
        candidates = fields or [c for c in table.columns if c not in ("text", "zip_code")]
        matrix = histories_to_csr(list(histories), n_items)
        rows = table.reindex([str(u) for u in user_ids])
        kept: list[str] = []
        values: dict[str, list[str]] = {}
        edges: dict[str, np.ndarray] = {}
        counts: dict[str, np.ndarray] = {}
        for field in candidates:
            column = rows[field]
            numeric = pd.to_numeric(column, errors="coerce")
            if numeric.notna().mean() > 0.9:
                edges[field] = np.nanquantile(numeric.to_numpy(dtype=float), [0.25, 0.5, 0.75])
                labels = [
                    None if np.isnan(x) else f"q{int(np.searchsorted(edges[field], x, side='right'))}"
                    for x in numeric.to_numpy(dtype=float)
                ]
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
        """The category of ``value`` for ``field`` (a quartile bin for numeric fields); ``None``: unknown."""
        if value is None or value == "":
            return None
        if field in self.edges:
            if not isinstance(value, (str, bytes, bytearray, SupportsFloat, SupportsIndex)):
                return None  # float() would raise TypeError
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
        """Plain arrays (no pickles) for an artifact; :meth:`from_state` restores the prior."""
        out: dict[str, np.ndarray] = {"fields": np.asarray(self.fields, dtype=str)}
        for field in self.fields:
            out[f"values/{field}"] = np.asarray(self.values[field], dtype=str)
            out[f"counts/{field}"] = self.counts[field]
            if field in self.edges:
                out[f"edges/{field}"] = self.edges[field]
        return out

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> DemographicPrior:
        """Restore from :meth:`state`'s arrays."""
        fields = state["fields"].tolist()
        return cls(
            fields,
            {f: state[f"values/{f}"].tolist() for f in fields},
            {f: state[f"edges/{f}"] for f in fields if f"edges/{f}" in state},
            {f: state[f"counts/{f}"] for f in fields},
        )


class FactorPrior:
    """Attributes -> items through a factorisation model over attribute features (LightFM, WARP loss).

    Users are represented only by their attribute features (no identity), so the model answers for
    anyone from attributes alone; items by identity and tag (genre) features. Fitting needs the
    ``lightfm`` package (``lightfm-next``); scoring is plain numpy over the stored arrays.

    Attributes:
        name: ``"attribute-factors"``, the label of answers it gives.
        labeller: A :class:`DemographicPrior` used only to turn attribute values into labels.
        features: ``{"field=label": row}`` of ``user_embeddings``.
        user_embeddings: ``(n_features, dim) float32``.
        item_repr: ``(n_items, dim) float32`` item representations (identity + tags).
        item_bias: ``(n_items,) float32``.

    References:
        M. Kula. Metadata Embeddings for User and Item Cold-start Recommendations. CBRecSys 2015,
        arXiv:1507.08439. J. Weston et al. WSABIE (WARP loss), IJCAI 2011.
    """

    name: ClassVar[str] = "attribute-factors"

    def __init__(
        self,
        labeller: DemographicPrior,
        features: dict[str, int],
        user_embeddings: np.ndarray,
        item_repr: np.ndarray,
        item_bias: np.ndarray,
    ) -> None:
        self.labeller, self.features = labeller, features
        self.user_embeddings, self.item_repr, self.item_bias = user_embeddings, item_repr, item_bias

    @classmethod
    def fit(
        cls,
        data: AttributedHistories,
        item_tags: Sequence[object] | None = None,
        components: int = 64,
        epochs: int = 40,
        learning_rate: float = 0.05,
        seed: int = 42,
    ) -> FactorPrior:
        """Fit on the users' attributes and histories.

        Raises:
            ImportError: ``lightfm`` is not installed.
        """
        from lightfm import LightFM
        from lightfm.data import Dataset as LightFMDataset

        from semrec.data.tables import split_list

        users, user_ids, histories, n_items = data.users, data.user_ids, data.histories, data.n_items
        labeller = DemographicPrior.fit(data)
        table = users.set_index("user_id").reindex([str(u) for u in user_ids])
        user_feats = []
        for record in table.to_dict(orient="records"):
            labels = (labeller.label(f, record.get(f)) for f in labeller.fields)
            user_feats.append([f"{f}={label}" for f, label in zip(labeller.fields, labels) if label is not None])
        tags = [split_list(t) for t in (item_tags if item_tags is not None else [None] * n_items)]
        dataset = LightFMDataset(user_identity_features=False, item_identity_features=True)
        # sorted, not sets: feature order fixes the random initialisation (string hashes vary per process)
        dataset.fit(
            range(len(user_ids)),
            range(n_items),
            user_features=sorted({f for fs in user_feats for f in fs}),
            item_features=sorted({f"tag={t}" for ts in tags for t in ts}),
        )
        pairs = [(u, int(i)) for u, history in enumerate(histories) for i in np.unique(history)]
        interactions, _ = dataset.build_interactions(pairs)
        uf = dataset.build_user_features((u, fs) for u, fs in enumerate(user_feats))
        itf = dataset.build_item_features((i, [f"tag={t}" for t in ts]) for i, ts in enumerate(tags))
        model = LightFM(no_components=components, loss="warp", learning_rate=learning_rate, random_state=seed)
        model.fit(interactions, user_features=uf, item_features=itf, epochs=epochs, num_threads=1)
        _, user_feature_map, item_map, _ = dataset.mapping()
        order = np.array([item_map[i] for i in range(n_items)])
        itf_rows = itf.tocsr()[order]
        item_repr = np.asarray(itf_rows @ model.item_embeddings, dtype=np.float32)
        item_bias = np.asarray(itf_rows @ model.item_biases, dtype=np.float32).ravel()
        return cls(labeller, dict(user_feature_map), model.user_embeddings.astype(np.float32), item_repr, item_bias)

    def score(self, attributes: Mapping[str, object], n_items: int) -> np.ndarray | None:
        """``(n_items,) float32`` scores from attributes alone; ``None`` if no attribute is known."""
        found = [self.features.get(f"{f}={self.labeller.label(f, attributes.get(f))}") for f in self.labeller.fields]
        rows = [r for r in found if r is not None]
        if not rows:
            return None
        user = self.user_embeddings[rows].sum(axis=0)
        scores = self.item_repr @ user + self.item_bias
        return np.pad(scores, (0, max(0, n_items - len(scores))), constant_values=scores.min()).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays (no pickles) for an artifact; :meth:`from_state` restores the prior."""
        names = sorted(self.features, key=self.features.__getitem__)
        return {
            **{f"labeller/{k}": v for k, v in self.labeller.state().items()},
            "feature_names": np.asarray(names, dtype=str),
            "user_embeddings": self.user_embeddings,
            "item_repr": self.item_repr,
            "item_bias": self.item_bias,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> FactorPrior:
        """Restore from :meth:`state`'s arrays."""
        labeller_state = {k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("labeller/")}
        names = state["feature_names"].tolist()
        features = {n: i for i, n in enumerate(names)}
        return cls(
            DemographicPrior.from_state(labeller_state),
            features,
            state["user_embeddings"],
            state["item_repr"],
            state["item_bias"],
        )


def fit_prior(data: AttributedHistories, item_tags: Sequence[object] | None = None) -> DemographicPrior | FactorPrior:
    """The best attribute prior available: :class:`FactorPrior` when ``lightfm`` is installed, else counts."""
    try:
        import lightfm  # noqa: F401
    except ImportError:
        return DemographicPrior.fit(data)
    return FactorPrior.fit(data, item_tags)


def prior_from_state(state: Mapping[str, np.ndarray]) -> DemographicPrior | FactorPrior:
    """Restore either prior from its :meth:`state` arrays."""
    return FactorPrior.from_state(state) if "feature_names" in state else DemographicPrior.from_state(state)
