"""The accuracy / diversity frontier: re-rankers at several diversity levels on one protocol."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semrec.evaluation.runner import Prepared
from semrec.ranking import top_k
from semrec.rerank import Reranker, build_reranker
from semrec.scorers import Scorer, histories_to_csr

FRONTIER_METRICS = ("NDCG", "Recall", "ILD", "Coverage", "Novelty")


@dataclass
class FrontierPoint:
    """Metrics of one (model, re-ranker, diversity) setting."""

    label: str
    reranker: str | None
    diversity: float | None
    metrics: dict[str, float]


@dataclass
class FrontierReport:
    """Frontier points plus the reference points (base model and popularity, not re-ranked)."""

    protocol: str
    dataset: str
    base: str
    k: int
    pool: int
    points: list[FrontierPoint] = field(default_factory=list)
    references: list[FrontierPoint] = field(default_factory=list)

    def markdown(self) -> str:
        k = self.k
        head = ["setting", *[f"{m}@{k}" for m in FRONTIER_METRICS]]
        lines = [f"Accuracy / diversity on {self.protocol} ({self.dataset}); base {self.base}, candidate pool {self.pool}",
                 "", "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]  # fmt: skip
        for point in [*self.references, *self.points]:
            lines.append("| " + " | ".join([point.label, *[f"{point.metrics[m]:.4f}" for m in FRONTIER_METRICS]]) + " |")
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> list[Path]:
        """Write ``frontier.json``, ``frontier.md`` and ``frontier.png`` (NDCG vs ILD)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        payload = {k: v for k, v in self.__dict__.items() if k not in ("points", "references")}
        payload["points"] = [p.__dict__ for p in self.points]
        payload["references"] = [p.__dict__ for p in self.references]
        (directory / "frontier.json").write_text(json.dumps(payload, indent=2))
        (directory / "frontier.md").write_text(self.markdown())
        self.plot(directory / "frontier.png")
        return [directory / "frontier.json", directory / "frontier.md", directory / "frontier.png"]

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
        for name in dict.fromkeys(p.reranker for p in self.points):
            series = [p for p in self.points if p.reranker == name]
            xs, ys = [p.metrics["ILD"] for p in series], [p.metrics["NDCG"] for p in series]
            ax.plot(xs, ys, marker="o", label=f"{self.base} + {name}")
            for p, x, y in zip(series, xs, ys):
                ax.annotate(f"{p.diversity:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        for ref, marker in zip(self.references, ("*", "s", "^")):
            ax.scatter(ref.metrics["ILD"], ref.metrics["NDCG"], marker=marker, s=120, zorder=5, label=ref.label)
        ax.set_xlabel(f"ILD@{self.k} (genre Jaccard distance)")
        ax.set_ylabel(f"NDCG@{self.k}")
        ax.set_title(f"Accuracy / diversity frontier, {self.protocol} {self.dataset}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def rerank_lists(reranker: Reranker, candidates: np.ndarray, relevance: np.ndarray, histories: Sequence[np.ndarray],
                 k: int, level: float) -> np.ndarray:  # fmt: skip
    """Re-rank each row's ``(pool,)`` candidates (``-1`` padded, scores in ``relevance``) at ``level``.

    Returns:
        ``(len(histories), k) int64`` item positions, ``-1`` padded.
    """
    lists = np.full((len(histories), k), -1, dtype=np.int64)
    for row, history in enumerate(histories):
        valid = candidates[row] >= 0
        picked = reranker.rerank(candidates[row][valid], relevance[row][valid], history, k, level)
        lists[row, : len(picked)] = picked
    return lists


def frontier(
    prepared: Prepared,
    base: Scorer,
    references: Sequence[Scorer],
    rerankers: Sequence[str],
    levels: Sequence[float],
    item_embeddings: np.ndarray,
    item_tags: Sequence[object],
    k: int = 10,
    pool: int = 50,
) -> FrontierReport:
    """Re-rank ``base``'s top-``pool`` candidates with each re-ranker at each diversity level.

    Args:
        prepared: A prepared protocol (:func:`~semrec.evaluation.runner.prepare`).
        base: Unfitted base scorer (fitted here on the protocol's train split).
        references: Unfitted scorers reported as single points (e.g. MostPopular).
        rerankers: Names from :data:`~semrec.rerank.RERANKERS`.
        levels: Diversity values in [0, 1].
        item_embeddings: ``(n_items, dim) float32`` L2-normalised (for ``mmr``).
        item_tags: Per-item ``"A|B"`` tags (for ``mmr-tags`` and ``calibrated``).
        k: List length. pool: Candidates re-ranked per user (>= k).

    Returns:
        A :class:`FrontierReport`.
    """
    if pool < k:
        raise ValueError(f"pool ({pool}) must be >= k ({k})")
    n_items = len(prepared.items)
    exclude = histories_to_csr(prepared.histories, n_items)
    base.fit(prepared.data)
    candidates, relevance = top_k(base.score(prepared.histories), pool, exclude)
    report = FrontierReport(prepared.protocol, prepared.dataset.name, base.name, k, pool)
    report.references.append(FrontierPoint(base.name, None, None, prepared.metrics(candidates[:, :k], k)))
    for scorer in references:
        scorer.fit(prepared.data)
        lists, _ = top_k(scorer.score(prepared.histories), k, exclude)
        report.references.append(FrontierPoint(scorer.name, None, None, prepared.metrics(lists, k)))
    for name in rerankers:
        reranker = build_reranker(name, item_embeddings, item_tags)
        for level in levels:
            lists = rerank_lists(reranker, candidates, relevance, prepared.histories, k, level)
            report.points.append(FrontierPoint(f"{name} d={level:g}", name, float(level), prepared.metrics(lists, k)))
    return report
