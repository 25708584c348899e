"""Run a protocol: split, fit each scorer on train, rank the full catalogue, compute metrics."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

from semrec.data.tables import Dataset, split_list
from semrec.encoders import EmbeddingCache, TextEncoder
from semrec.evaluation.metrics import coverage, intra_list_diversity, novelty, ranking_metrics
from semrec.evaluation.protocols import PROTOCOLS
from semrec.features import Projection, item_features, learn_spec
from semrec.ranking import top_k
from semrec.onboarding import OnboardingConfig, OnboardingData, OnboardingRanker, release_years, user_attributes
from semrec.recommender import encode_items, item_texts, ordered_histories_with_times, ordered_values
from semrec.scorers import Scorer, TrainData, histories_to_csr
from semrec.scorers.sequence import standardise_rows
from semrec.text import TextTemplateConfig
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

    def to_json(self) -> dict:
        return {
            "protocol": self.protocol, "dataset": self.dataset, "k": self.k, "n_train": self.n_train,
            "n_test": self.n_test, "n_users": self.n_users,
            "results": [r.__dict__ for r in self.results],
        }  # fmt: skip

    def markdown(self) -> str:
        """A markdown table: one row per scorer, one column per metric (@k), fit time, users/s."""
        k = self.k
        head = ["scorer", *[f"{m}@{k}" for m in METRICS], "fit s", "users/s"]
        lines = [
            f"{self.protocol} on {self.dataset}: {self.n_users} users, {self.n_train} train / {self.n_test} test, "
            f"{'cold items ranked among themselves' if self.protocol == 'P3' else 'full-catalogue ranking'}, binary relevance",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---" for _ in head) + "|",
        ]
        for r in self.results:
            cells = [r.scorer, *[f"{r.metrics[m]:.4f}" for m in METRICS], f"{r.fit_seconds:.1f}", f"{r.users_per_second:,.0f}"]
            lines.append("| " + " | ".join(cells) + " |")
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


def rank_users(scorer: Scorer, histories: Sequence[np.ndarray], k: int, n_items: int, batch: int = 512,
               candidates: np.ndarray | None = None, fallback: Scorer | None = None) -> np.ndarray:  # fmt: skip
    """Top-k of every history, excluding the history's own items.

    Args:
        candidates: ``(n_items,) bool``; only these items may be ranked (P3). ``None``: all.
        fallback: Scores empty histories with this scorer instead (the pipeline's popular fallback).

    Returns:
        ``(len(histories), k) int64`` item positions, ``-1`` padded.
    """
    out = np.empty((len(histories), k), dtype=np.int64)
    for start in range(0, len(histories), batch):
        chunk = list(histories[start : start + batch])
        scores = scorer.score(chunk)
        if fallback is not None:
            empty = [row for row, h in enumerate(chunk) if len(h) == 0]
            if empty:
                scores[empty] = fallback.score([chunk[row] for row in empty])
        if candidates is not None:
            scores[:, ~candidates] = -np.inf
        out[start : start + len(chunk)], _ = top_k(scores, k, histories_to_csr(chunk, n_items))
    return out


@dataclass
class Prepared:
    """A protocol's split turned into positions: what every evaluation run needs."""

    dataset: Dataset
    protocol: str
    items: IdVocabulary
    data: TrainData
    histories: list[np.ndarray]
    relevant: list[np.ndarray]
    tags: list[frozenset]
    train_counts: np.ndarray
    n_train: int
    n_test: int
    candidates: np.ndarray | None = None
    """``(n_items,) bool`` items that may be ranked (P3), or ``None`` for all."""
    train_times: list[np.ndarray] | None = None
    """Unix seconds of each training history's interactions (aligned with ``data.histories``)."""
    train_values: list[np.ndarray] | None = None
    """Ratings aligned with ``data.histories`` (``None``: implicit feedback)."""
    train_user_ids: list[str] | None = None
    user_ids: list[str] | None = None
    """External id of each evaluated user (aligned with ``histories``)."""
    request_times: np.ndarray | None = None
    """``(n_users,) float64`` request time of each evaluated user: the time of its latest history item."""

    def metrics(self, recommended: np.ndarray, k: int) -> dict[str, float]:
        """Mean of every metric over the evaluated users for ``(n_users, k)`` lists."""
        per_user = ranking_metrics(recommended, self.relevant, k)
        out = {name: float(values.mean()) for name, values in per_user.items()}
        out["Coverage"] = coverage(recommended, len(self.items))
        out["ILD"] = float(intra_list_diversity(recommended, self.tags).mean())
        out["Novelty"] = float(novelty(recommended, self.train_counts).mean())
        return out


def prepare(
    dataset: Dataset,
    protocol: str = "P1",
    encoder: TextEncoder | None = None,
    text: TextTemplateConfig | None = None,
    cache: EmbeddingCache | None = None,
    tag_field: str = "genres",
    n_onboarding: int = 5,
    pca_dim: int | None = None,
) -> Prepared:
    """Split ``dataset`` by ``protocol`` and index it; item texts are encoded when ``encoder`` is given.

    Args:
        n_onboarding: P2 only: interactions each cold user reveals (0 = none: attributes/text only).
        pca_dim: Project item embeddings onto this many principal components (:class:`~semrec.features.Projection`).

    Raises:
        ValueError: Unknown protocol.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    split = PROTOCOLS[protocol](dataset.interactions, n_onboarding) if protocol == "P2" else PROTOCOLS[protocol](dataset.interactions)
    items = IdVocabulary(dataset.items["item_id"], "item")
    users = IdVocabulary(sorted(split.train["user_id"].unique(), key=_id_order), "user")
    train_histories, train_times = ordered_histories_with_times(split.train, users, items)
    if split.onboarding is not None:  # P2: evaluated users are the cold users, with their onboarding as history
        cold = IdVocabulary(sorted(split.test["user_id"].unique(), key=_id_order), "user")
        eval_histories, eval_times = ordered_histories_with_times(
            split.onboarding[split.onboarding["user_id"].isin(set(cold.ids.tolist()))], cold, items)
        eval_ids, test = cold.ids, split.test
    else:
        test = split.test[split.test["user_id"].isin(set(users.ids.tolist()))]
        test_users = users.index(sorted(test["user_id"].unique(), key=_id_order))
        eval_histories, eval_ids = [train_histories[u] for u in test_users], users.ids[test_users]
        eval_times = [train_times[u] for u in test_users]
    relevant_by_user = test.groupby("user_id")["item_id"].apply(lambda s: items.index(s.tolist()))
    relevant = [relevant_by_user[uid] for uid in eval_ids]
    embeddings = None
    if encoder is not None:
        embeddings = encode_items(item_texts(dataset.items, text or TextTemplateConfig()), encoder, cache)
        if pca_dim is not None:
            embeddings = Projection.fit(embeddings, pca_dim).apply(embeddings)
    data = TrainData(train_histories, len(items), embeddings, item_features(dataset.items, learn_spec(dataset.items)))
    tags = [frozenset(split_list(v)) for v in dataset.items.get(tag_field, pd.Series([None] * len(items)))]
    candidates = None
    if split.candidates is not None:
        candidates = np.zeros(len(items), dtype=bool)
        candidates[items.index(sorted(split.candidates))] = True
    request_times = np.array([float(t[-1]) if len(t) else np.nan for t in eval_times])
    return Prepared(dataset, protocol, items, data, eval_histories, relevant, tags,
                    np.asarray(data.matrix.sum(axis=0)).ravel(), len(split.train), len(test), candidates,
                    train_times, ordered_values(split.train, users, items), users.ids.tolist(), list(eval_ids),
                    request_times)  # fmt: skip


def onboarding_data(prepared: Prepared, release_field: str | None = "year") -> OnboardingData:
    """The training side of ``prepared`` as :class:`~semrec.onboarding.OnboardingData`."""
    d = prepared.data
    return OnboardingData(d.histories, prepared.train_times, prepared.train_values, prepared.train_user_ids,
                          prepared.dataset.users, d.n_items, d.item_embeddings, d.item_features,
                          release_years(prepared.dataset.items, release_field))  # fmt: skip


def rank_with_onboarding(prepared: Prepared, ranker: OnboardingRanker, k: int, batch: int = 256) -> np.ndarray:
    """Top-k lists of the pipeline's treatment: histories of 1 .. ``max_history`` items by the
    onboarding ranker (its candidates first, then the hybrid's order), longer ones by its hybrid.

    Returns:
        ``(n_users, k) int64`` item positions, ``-1`` padded.
    """
    n = len(prepared.items)
    hybrid = ranker.signals.hybrid
    out = rank_users(hybrid, prepared.histories, k, n, candidates=prepared.candidates)
    short = [u for u, h in enumerate(prepared.histories) if 0 < len(h) <= ranker.config.max_history]
    for start in range(0, len(short), batch):
        rows = short[start : start + batch]
        histories = [prepared.histories[u] for u in rows]
        attributes = user_attributes(prepared.dataset.users, [prepared.user_ids[u] for u in rows])
        candidates, ranked = ranker.rank(histories, prepared.request_times[rows], attributes)
        scores = standardise_rows(hybrid.score(histories)) - 1e3
        for row, (cands, values) in enumerate(zip(candidates, ranked)):
            scores[row, cands] = values
        if prepared.candidates is not None:
            scores[:, ~prepared.candidates] = -np.inf
        out[rows], _ = top_k(scores, k, histories_to_csr(histories, n))
    return out


def evaluate(
    dataset: Dataset,
    scorers: Sequence[Scorer],
    protocol: str = "P1",
    k: int = 10,
    encoder: TextEncoder | None = None,
    text: TextTemplateConfig | None = None,
    cache: EmbeddingCache | None = None,
    tag_field: str = "genres",
    n_onboarding: int = 5,
    pca_dim: int | None = None,
    onboarding: OnboardingConfig | None = None,
) -> EvaluationReport:
    """Evaluate ``scorers`` (unfitted; each is fitted on the protocol's train split).

    Args:
        dataset: The full data set; the protocol splits its interactions.
        scorers: Fresh scorers; those with ``requires_embeddings`` need ``encoder``.
        protocol: A key of :data:`~semrec.evaluation.protocols.PROTOCOLS`.
        k: List length.
        encoder, text, cache: How item texts are built and encoded (only if a scorer needs them).
        tag_field: Item column with ``"A|B"`` tags for ILD@k (genres); missing -> no tags.
        pca_dim: Project item embeddings onto this many principal components first (``None``: whole).
        onboarding: Also evaluate the onboarding ranker (row ``onboarding-ranker``: short histories
            ranked by it, longer ones by its hybrid; :mod:`semrec.onboarding`). Needs an encoder.

    Returns:
        An :class:`EvaluationReport`.

    Raises:
        ValueError: Unknown protocol, or a text scorer without an encoder.
    """
    needs_text = any(s.requires_embeddings for s in scorers) or onboarding is not None
    if needs_text and encoder is None:
        raise ValueError("a text scorer needs an encoder")
    prepared = prepare(dataset, protocol, encoder if needs_text else None, text, cache, tag_field, n_onboarding, pca_dim)
    label = f"P2 (n={n_onboarding})" if protocol == "P2" else protocol
    report = EvaluationReport(label, dataset.name, k, prepared.n_train, prepared.n_test, len(prepared.histories))
    for scorer in scorers:
        started = time.perf_counter()
        scorer.fit(prepared.data)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        recommended = rank_users(scorer, prepared.histories, k, len(prepared.items), candidates=prepared.candidates)
        rank_seconds = time.perf_counter() - started
        metrics = prepared.metrics(recommended, k)
        report.results.append(ScorerResult(scorer.name, metrics, fit_seconds, len(prepared.histories) / rank_seconds))
        logger.info("%s %s NDCG@%d=%.4f", protocol, scorer.name, k, metrics["NDCG"])
    if onboarding is not None:
        started = time.perf_counter()
        ranker = OnboardingRanker.fit(onboarding, onboarding_data(prepared, onboarding.release_field))
        fit_seconds = time.perf_counter() - started
        if ranker is None:
            logger.warning("onboarding ranker not fitted: fewer than %d users with more than %d interactions",
                           onboarding.min_users, onboarding.n_onboarding)  # fmt: skip
        else:
            started = time.perf_counter()
            recommended = rank_with_onboarding(prepared, ranker, k)
            rank_seconds = time.perf_counter() - started
            metrics = prepared.metrics(recommended, k)
            report.results.append(ScorerResult("onboarding-ranker", metrics, fit_seconds, len(prepared.histories) / rank_seconds))
    return report


def _id_order(value: str) -> tuple:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def scorer_with(name: str, **config) -> Scorer:
    """A fresh scorer by registry name with hyper-parameters (helper for scripts)."""
    from semrec.scorers import scorer_class

    cls = scorer_class(name)
    params: BaseModel = cls.Config(**config)
    return cls(params)
