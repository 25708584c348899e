"""Run a protocol through the served pipeline: split, fit a :class:`~semrec.pipeline.Recommender` per
configuration on train, answer every evaluated user's query with ``recommend_many`` (the method the
CLI and the HTTP service call), compute the metrics.

Queries per protocol (PROTOCOL.md):

* P1 (and ``P1-validation``): ``Query(user_id=u)``: the stored training history;
* P2: ``Query(history=<first n items>, attributes=<age, gender, occupation>, context={"time": <time of
  the n-th item>})``: a new user at onboarding time;
* P3: ``Query(user_id=u, candidates=<the cold items>)``: cold items ranked among themselves.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from semrec.config import RecommenderConfig
from semrec.data.histories import ordered_histories_with_times
from semrec.data.tables import Dataset, split_list
from semrec.errors import SemrecError
from semrec.evaluation.metrics import coverage, intra_list_diversity, novelty, ranking_metrics
from semrec.evaluation.protocols import PROTOCOLS, PUBLISHED, check_protocol, id_order, split_p2
from semrec.llm import LLMConfig, attach
from semrec.pipeline import Recommender
from semrec.scorers import histories_to_csr
from semrec.text import EmbeddingCache, TextEncoder
from semrec.types import Query, Scalar
from semrec.vocab import IdVocabulary

logger = logging.getLogger(__name__)

METRICS = ("NDCG", "Recall", "HR", "MRR", "Precision", "Coverage", "ILD", "Novelty")


@dataclass
class ScorerResult:
    """Metrics of one scorer on one protocol (means over evaluated users)."""

    scorer: str
    metrics: dict[str, float]
    fit_seconds: float
    users_per_second: float


@dataclass
class EvaluationReport:
    """All results of one protocol run."""

    protocol: str
    dataset: str
    k: int
    n_train: int
    n_test: int
    n_users: int
    results: list[ScorerResult] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    """What the protocol's split removed or left unevaluated, printed under the table's first line."""

    def to_json(self) -> dict:
        return {
            "protocol": self.protocol,
            "dataset": self.dataset,
            "k": self.k,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_users": self.n_users,
            "results": [r.__dict__ for r in self.results],
            "notes": list(self.notes),
        }

    def markdown(self) -> str:
        """A markdown table: one row per scorer, one column per metric (@k), fit time, users/s."""
        k = self.k
        head = ["scorer", *[f"{m}@{k}" for m in METRICS], "fit s", "users/s"]
        lines = [
            f"{self.protocol} on {self.dataset}: {self.n_users} users, {self.n_train} train / {self.n_test} test, "
            f"{'cold items ranked among themselves' if self.protocol == 'P3' else 'full-catalogue ranking'}, "
            "binary relevance",
            *self.notes,
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---" for _ in head) + "|",
        ]
        for r in self.results:
            cells = [
                r.scorer,
                *[f"{r.metrics[m]:.4f}" for m in METRICS],
                f"{r.fit_seconds:.1f}",
                f"{r.users_per_second:,.0f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        published = PUBLISHED.get((self.protocol, self.dataset))
        if published:
            lines += ["", "Published on this protocol (not rerun here):", ""]
            lines += [f"| model | NDCG@10 | {published[0][3]} |", "|---|---|---|"]
            lines += [f"| {model} | {a:.4f} | {b:.4f} |" for model, a, b, _ in published]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> tuple[Path, Path]:
        """Write ``<protocol>.json`` and ``<protocol>.md`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = self.protocol.replace(" ", "").replace("(", "-").replace(")", "").replace("=", "")
        json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
        json_path.write_text(json.dumps(self.to_json(), indent=2))
        md_path.write_text(self.markdown())
        return json_path, md_path


@dataclass
class ProtocolRun:
    """A protocol's split as the queries a served pipeline answers, plus the yardstick.

    Attributes:
        dataset: The full data set.
        protocol: The protocol key (``P1``, ``P1-validation``, ``P2``, ``P3``).
        train: The training tables (items and users whole, interactions of the train split).
        queries: One :class:`~semrec.types.Query` per evaluated user (``k`` set at evaluation).
        user_ids: The evaluated users' ids, aligned with ``queries``.
        histories: ``(n_u,) int64`` item positions each evaluated user's query carries (stored or
            revealed), aligned with ``queries``.
        relevant: ``(m_u,) int64`` test item positions per evaluated user.
        items: Item ids <-> positions (the data set's item order, as in every fitted pipeline).
        candidates: ``(n_items,) bool`` items that may be ranked (P3), or ``None`` for all.
        notes: What the protocol's split removed or left unevaluated (:attr:`~semrec.evaluation.protocols.Split.notes`).
    """

    dataset: Dataset
    protocol: str
    train: Dataset
    queries: list[Query]
    user_ids: list[str]
    histories: list[np.ndarray]
    relevant: list[np.ndarray]
    items: IdVocabulary
    tags: list[frozenset]
    train_counts: np.ndarray
    n_train: int
    n_test: int
    times: list[np.ndarray]
    """``(n_u,) int64`` Unix seconds of each ``histories`` entry."""
    candidates: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    def metrics(self, recommended: np.ndarray, k: int) -> dict[str, float]:
        """Mean of every metric over the evaluated users for ``(n_users, k)`` lists of positions."""
        per_user = ranking_metrics(recommended, self.relevant, k)
        out = {name: float(values.mean()) for name, values in per_user.items()}
        out["Coverage"] = coverage(recommended, len(self.items))
        out["ILD"] = float(intra_list_diversity(recommended, self.tags).mean())
        out["Novelty"] = float(novelty(recommended, self.train_counts).mean())
        return out

    def lists(self, model: Recommender, k: int, ray: str | None = None, **query_fields) -> np.ndarray:
        """``(n_users, k) int64`` item positions (``-1`` padded) that ``model`` serves for the queries.

        Args:
            ray: A Ray address: the queries are answered by Ray tasks
                (:func:`semrec.distributed.recommend_on_ray`, the same ``recommend_many``).
            query_fields: Extra :class:`~semrec.types.Query` fields for every query (e.g. ``diversity``).
        """
        queries = [q.model_copy(update={"k": k, **query_fields}) for q in self.queries]
        out = np.full((len(queries), k), -1, dtype=np.int64)
        if ray is not None:
            from semrec.distributed import recommend_on_ray

            results = recommend_on_ray(model, queries, ray)
        else:
            results = model.recommend_many(queries)
        for row, result in enumerate(results):
            out[row, : len(result.item_ids)] = self.items.index(result.item_ids.tolist())
        return out


def _attributes(users: pd.DataFrame | None, user_ids: Sequence[str]) -> list[dict[str, Scalar]]:
    if users is None:
        return [{} for _ in user_ids]
    table = users.set_index("user_id")
    out = []
    for user_id in user_ids:
        row = table.loc[user_id] if user_id in table.index else None
        values = {} if row is None else {k: v for k, v in row.items() if v is not None and not pd.isna(v)}
        out.append({k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()})
    return out


def prepare(dataset: Dataset, protocol: str = "P1", n_onboarding: int = 5, tag_field: str = "genres") -> ProtocolRun:
    """Split ``dataset`` by ``protocol`` into training tables and served queries.

    Args:
        n_onboarding: P2 only: interactions each cold user reveals (0 = none: attributes only).
        tag_field: Item column with ``"A|B"`` tags for ILD@k (genres); missing -> no tags.

    Raises:
        UsageError: Unknown protocol (a ``ValueError`` too).
        SemrecError: No user has interactions on both sides of the split.
    """
    check_protocol(protocol)
    split = (
        split_p2(dataset.interactions, n_onboarding) if protocol == "P2" else PROTOCOLS[protocol](dataset.interactions)
    )
    if split.items is not None:  # P4 keeps only items with >= 5 interactions in its catalogue
        dataset = Dataset(dataset.items[dataset.items["item_id"].isin(split.items)].reset_index(drop=True),
                          dataset.interactions, dataset.users, dataset.name)  # fmt: skip
    items = IdVocabulary(dataset.items["item_id"], "item")
    train_users = IdVocabulary(sorted(split.train["user_id"].unique(), key=id_order), "user")
    train_histories, train_times = ordered_histories_with_times(split.train, train_users, items)
    candidate_ids = None if split.candidates is None else sorted(split.candidates, key=id_order)
    if split.onboarding is not None:  # P2: the cold users, with their onboarding items as the request's history
        cold = IdVocabulary(sorted(split.test["user_id"].unique(), key=id_order), "user")
        revealed = split.onboarding[split.onboarding["user_id"].isin(set(cold.ids.tolist()))]
        histories, times = ordered_histories_with_times(revealed, cold, items)
        user_ids, test = cold.ids.tolist(), split.test
        queries = [
            Query(history=items.ids[h].tolist(), attributes=a, context={"time": int(t[-1])} if len(t) else {})
            for h, t, a in zip(histories, times, _attributes(dataset.users, user_ids))
        ]
    else:
        test = split.test[split.test["user_id"].isin(set(train_users.ids.tolist()))]
        user_ids = sorted(test["user_id"].unique(), key=id_order)
        positions = train_users.index(user_ids)
        histories, times = [train_histories[p] for p in positions], [train_times[p] for p in positions]
        queries = [Query(user_id=u, candidates=candidate_ids) for u in user_ids]
    if not user_ids:
        raise SemrecError(
            f"{protocol} on {dataset.name}: no user can be evaluated ({len(split.train)} train / {len(test)} test "
            "interactions after the split); the protocol needs users with interactions on both sides"
        )
    relevant_by_user = test.groupby("user_id")["item_id"].apply(lambda s: items.index(s.tolist()))
    relevant = [relevant_by_user[uid] for uid in user_ids]
    tags = [frozenset(split_list(v)) for v in dataset.items.get(tag_field, pd.Series([None] * len(items)))]
    candidates = None
    if candidate_ids is not None:
        candidates = np.zeros(len(items), dtype=bool)
        candidates[items.index(candidate_ids)] = True
    counts = np.asarray(histories_to_csr(train_histories, len(items)).sum(axis=0)).ravel()
    train = Dataset(
        dataset.items, split.train, dataset.users, f"{dataset.name}-{protocol}-train", holdout=split.holdout
    )
    return ProtocolRun(
        dataset,
        protocol,
        train,
        queries,
        list(user_ids),
        histories,
        relevant,
        items,
        tags,
        counts,
        len(split.train),
        len(test),
        times,
        candidates,
        split.notes,
    )


def evaluate(
    dataset: Dataset,
    configs: Mapping[str, RecommenderConfig],
    protocol: str = "P1",
    k: int = 10,
    encoder: TextEncoder | None = None,
    cache: EmbeddingCache | None = None,
    n_onboarding: int = 5,
    tag_field: str = "genres",
    ray: str | None = None,
    llm: LLMConfig | None = None,
) -> EvaluationReport:
    """Fit one served pipeline per configuration on the protocol's train split and evaluate it.

    Args:
        dataset: The full data set; the protocol splits its interactions.
        configs: Row label -> configuration (e.g. ``{"hybrid": RecommenderConfig()}``).
        protocol: A key of :data:`~semrec.evaluation.protocols.PROTOCOLS`.
        k: List length.
        encoder: Overrides every configuration's encoder (tests pass a hashing encoder).
        cache: Embedding cache shared by the fits.
        n_onboarding: P2: interactions each cold user reveals.
        tag_field: Item column with ``"A|B"`` tags for ILD@k.
        ray: A Ray address (:mod:`semrec.distributed`): item texts are encoded and the queries
            answered on that cluster; the figures equal the local run's.
        llm: The optional generative stages (:mod:`semrec.llm`), attached to every fitted pipeline.

    Returns:
        An :class:`EvaluationReport`: one row per configuration, fit seconds and users/s of
        ``recommend_many`` included.

    Raises:
        ValueError: Unknown protocol.
    """
    run = prepare(dataset, protocol, n_onboarding, tag_field)
    label = f"P2 (n={n_onboarding})" if protocol == "P2" else protocol
    report = EvaluationReport(label, dataset.name, k, run.n_train, run.n_test, len(run.queries), notes=run.notes)
    for name, config in configs.items():
        if ray is not None:
            config = config.model_copy(update={"encoder": config.encoder.model_copy(update={"ray": ray})})
        started = time.perf_counter()
        model = Recommender.fit(run.train, config, encoder=encoder, cache=cache)
        attach(model, llm)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        recommended = run.lists(model, k, ray=ray)
        rank_seconds = time.perf_counter() - started
        metrics = run.metrics(recommended, k)
        report.results.append(ScorerResult(name, metrics, fit_seconds, len(run.queries) / max(rank_seconds, 1e-9)))
        logger.info("%s %s NDCG@%d=%.4f", protocol, name, k, metrics["NDCG"])
    return report
