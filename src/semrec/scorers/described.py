"""Text -> behaviour: what people who describe themselves alike actually consume.

A new user known only by a self-description has no history to fold in, and the cosine between
that text and item texts knows nothing of what people watch or buy (README, issue "language that
pays its way": raw text similarity ranked far below the popular list). This model learns the
text -> behaviour link from the training users themselves:

1. every training user gets pseudo-descriptions built from the catalogue's own vocabulary: the
   attribute values (genres, categories, brands ...) most frequent in their history, in a few
   phrasings ("I like Comedy, Drama and Romance.", "Mostly Comedy and Drama, some Romance.");
2. the descriptions are encoded with the catalogue's encoder (a multilingual encoder puts a
   Chinese or Spanish request next to them);
3. a request text is scored by its nearest described users: ``score_j = sum_u w_u x_uj`` with
   ``w_u = exp((cos(q, d_u) - max cos) / temperature)`` over the ``neighbours`` most similar
   users, so the list is what those users interacted with, popularity included.

It is fitted on training users only. The weights were chosen on simulated text-only onboarding
of training users (``benchmarks/text_users.py --tune``), never on evaluation users.

References:
    J. L. Herlocker, J. A. Konstan, A. Borchers, J. Riedl. An algorithmic framework for performing
    collaborative filtering. SIGIR 1999 (user-based neighbourhoods).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field, PositiveFloat, PositiveInt

from semrec.data.tables import split_list
from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, histories_to_csr

PHRASINGS = (
    "I like {all}.",
    "Mostly {first}; also {rest}.",
)
"""Templates of the pseudo-descriptions (``{all}``: the values joined as a list)."""


class DescribedUsersConfig(FrozenConfig):
    """Hyper-parameters of :class:`DescribedUsersModel`."""

    values_per_user: int = Field(3, ge=1, le=10)
    """Attribute values named in a pseudo-description (the user's most frequent ones)."""
    neighbours: PositiveInt = 100
    """Described users a request is scored from."""
    temperature: PositiveFloat = 0.05
    """Softness of the neighbour weights, in cosine units."""
    max_users: int = Field(20_000, ge=10)
    """Training users described (a seeded sample above this)."""
    item_text_weight: float = Field(0.25, ge=0.0)
    """Weight of the plain text-to-item-text cosine added (standardised) to the standardised
    described-user scores: what the text says about the items themselves. Chosen on simulated
    text-only onboarding inside P2's train users (``benchmarks/text_users.py --tune``: NDCG@10
    en/zh 0.5592/0.5583 at 0.25 against 0.5571/0.5536 at 0, 0.5439/0.5501 at 0.5, 0.5081/0.5063 at 1)."""
    value_weight: float = Field(1.0, ge=0.0)
    """Weight of the value route (standardised, added): when the request's text names attribute
    values (read by :class:`~semrec.pipeline.intent.IntentStage`), the training users whose own
    most frequent values overlap them most (``exp((overlap - max) / value_temperature)``), and what
    they interacted with. 0: off."""
    value_temperature: PositiveFloat = 0.1
    """Softness of the value route's user weights, in units of named values shared."""
    seed: int = 0
    enabled: bool = True
    """Fit the model when the catalogue has attribute values (``False``: plain text cosine only)."""


VALUE_FIELDS = ("genres", "category", "categories", "brand", "author")
"""Item columns whose values name what users like (the first one the catalogue fills is used)."""


MAX_VALUES = 2_000
"""Largest vocabulary :func:`attribute_values` reads: a column with more distinct values (such as
Book-Crossing's 102k authors) names items, not interests, and would need a ``(n_values,
n_items)`` membership matrix in the intent stage."""


def attribute_values(items: pd.DataFrame) -> list[list[str]] | None:
    """Per item, the values of the first :data:`VALUE_FIELDS` column the catalogue fills (``None``: none).

    Values such as ``unknown`` that say nothing are dropped; a column with more than
    :data:`MAX_VALUES` distinct values is skipped.
    """
    for name in VALUE_FIELDS:
        if name in items.columns and items[name].notna().any():
            values = [
                [v for v in split_list(cell) if v.lower() not in ("unknown", "other", "none", "")]
                for cell in items[name]
            ]
            if len({v for cell in values for v in cell}) <= MAX_VALUES:
                return values
    return None


def join_values(values: Sequence[str]) -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def describe(values: Sequence[str]) -> list[str]:
    """The pseudo-descriptions of a user whose most frequent attribute values are ``values``."""
    first, rest = values[0], join_values(values[1:]) if len(values) > 1 else values[0]
    return [p.format(all=join_values(values), first=first, rest=rest) for p in PHRASINGS]


class DescribedUsersModel:
    """Scores the catalogue for request texts through described training users; see the module docstring.

    Attributes:
        vectors: ``(n_described, dim) float32`` L2-normalised description embeddings (one row per
            (user, phrasing)).
        owners: ``(n_described,) int64`` row of :attr:`matrix` each description belongs to.
        matrix: ``(n_users, n_items) float32`` CSR of the described users' interactions.
        values: The attribute value names, the columns of :attr:`profiles`.
        profiles: ``(n_users, n_values) float32``, 1 for each of a user's most frequent values.
    """

    def __init__(
        self,
        config: DescribedUsersConfig,
        vectors: np.ndarray,
        owners: np.ndarray,
        matrix: sp.csr_matrix,
        values: Sequence[str] = (),
        profiles: np.ndarray | None = None,
    ) -> None:
        self.config, self.vectors, self.owners, self.matrix = config, vectors, owners, matrix
        self.values = list(values)
        self.profiles = np.zeros((matrix.shape[0], 0), dtype=np.float32) if profiles is None else profiles

    @staticmethod
    def descriptions(
        histories: Sequence[History], item_values: Sequence[Sequence[str]], config: DescribedUsersConfig
    ) -> tuple[list[str], list[int], list[list[str]]]:
        """``(texts, user rows, top values per user)``: the pseudo-descriptions of each user that has
        attribute values, and every user's most frequent values."""
        texts, rows, tops = [], [], []
        for row, history in enumerate(histories):
            counts = Counter(v for item in np.unique(history) for v in item_values[item])
            top = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: config.values_per_user]]
            tops.append(top)
            for text in describe(top) if top else []:
                texts.append(text)
                rows.append(row)
        return texts, rows, tops

    @classmethod
    def fit(
        cls,
        histories: Sequence[History],
        n_items: int,
        item_values: Sequence[Sequence[str]],
        encode,
        config: DescribedUsersConfig | None = None,
    ) -> DescribedUsersModel | None:
        """Describe and encode the training users.

        Args:
            histories: One ``(n_u,) int64`` item-position array per training user.
            n_items: Catalogue size.
            item_values: Per item, its attribute values (e.g. genres); items without any are skipped.
            encode: ``f(texts) -> (len(texts), dim) float32`` L2-normalised query embeddings.

        Returns:
            The model, or ``None`` when no user could be described (no attribute values).
        """
        config = config or DescribedUsersConfig()
        users = [h for h in histories if len(h)]
        if len(users) > config.max_users:
            picked = np.random.default_rng(config.seed).choice(len(users), config.max_users, replace=False)
            users = [users[i] for i in np.sort(picked)]
        texts, rows, tops = cls.descriptions(users, item_values, config)
        if not texts:
            return None
        vectors = np.asarray(encode(texts), dtype=np.float32)
        values = sorted({v for top in tops for v in top})
        column = {v: j for j, v in enumerate(values)}
        profiles = np.zeros((len(users), len(values)), dtype=np.float32)
        for row, top in enumerate(tops):
            profiles[row, [column[v] for v in top]] = 1.0
        matrix = histories_to_csr(users, n_items)
        return cls(config, vectors, np.asarray(rows, dtype=np.int64), matrix, values, profiles)

    def score_values(self, named: Sequence[Sequence[str]], temperature: float | None = None) -> np.ndarray:
        """Scores of every item for requests that name attribute values (the value route).

        Args:
            named: Per request, the attribute values its text names (values the model does not
                know are ignored).
            temperature: Softness of the user weights (``None``: the fitted ``value_temperature``).

        Returns:
            ``(len(named), n_items) float32``: the share of the training users who name the most
            of the same values (softmax over the overlap, ``value_temperature``) that interacted
            with each item, in [0, 1]; a row of zeros where no named value is known.
        """
        out = np.zeros((len(named), self.matrix.shape[1]), dtype=np.float32)
        column = {v: j for j, v in enumerate(self.values)}
        for row, values in enumerate(named):
            wanted = [column[v] for v in values if v in column]
            if not wanted:
                continue
            overlap = self.profiles[:, wanted].sum(axis=1)
            weights = np.exp((overlap - overlap.max()) / (temperature or self.config.value_temperature))
            out[row] = self.matrix.T @ (weights / weights.sum())
        return out

    def score(self, queries: np.ndarray) -> np.ndarray:
        """Scores of every item for each query vector.

        Args:
            queries: ``(q, dim) float32`` L2-normalised request-text embeddings.

        Returns:
            ``(q, n_items) float32``: the neighbour-weighted share of described users who
            interacted with each item, in [0, 1].
        """
        c = self.config
        out = np.zeros((len(queries), self.matrix.shape[1]), dtype=np.float32)
        for row, query in enumerate(queries):
            sims = self.vectors @ query  # (n_described,)
            user_sims = np.full(self.matrix.shape[0], -np.inf, dtype=np.float32)
            np.maximum.at(user_sims, self.owners, sims)  # a user's closest phrasing
            k = min(c.neighbours, int(np.isfinite(user_sims).sum()))
            top = np.argpartition(-user_sims, k - 1)[:k]
            weights = np.exp((user_sims[top] - user_sims[top].max()) / c.temperature)
            out[row] = (weights / weights.sum()) @ self.matrix[top].toarray()
        return out

    def get_state(self) -> dict[str, np.ndarray]:
        """Arrays for an artifact (no pickles)."""
        m = self.matrix
        return {
            "vectors": self.vectors,
            "owners": self.owners,
            "indptr": m.indptr,
            "indices": m.indices,
            "shape": np.asarray(m.shape, dtype=np.int64),
            "config": np.array(self.config.model_dump_json()),
            "values": np.asarray(self.values, dtype=str),
            "profiles": self.profiles,
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> DescribedUsersModel:
        """Inverse of :meth:`get_state`."""
        shape = tuple(int(x) for x in state["shape"])
        data = np.ones(len(state["indices"]), dtype=np.float32)
        matrix = sp.csr_matrix((data, state["indices"], state["indptr"]), shape=shape)
        config = DescribedUsersConfig.model_validate_json(str(state["config"]))
        values = [str(v) for v in state["values"]] if "values" in state else []
        return cls(config, state["vectors"], state["owners"], matrix, values, state.get("profiles"))
