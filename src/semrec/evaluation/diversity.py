"""The accuracy / diversity frontier: re-rankers at several diversity levels on one protocol."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from semrec.config import RecommenderConfig
from semrec.data.tables import Dataset
from semrec.evaluation.runner import prepare
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, TextEncoder

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
        lines = [
            f"Accuracy / diversity on {self.protocol} ({self.dataset}); base {self.base}, candidate pool {self.pool}",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---" for _ in head) + "|",
        ]
        for point in [*self.references, *self.points]:
            lines.append(
                "| " + " | ".join([point.label, *[f"{point.metrics[m]:.4f}" for m in FRONTIER_METRICS]]) + " |"
            )
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


def frontier(
    dataset: Dataset,
    config: RecommenderConfig,
    rerankers: Sequence[str],
    levels: Sequence[float],
    protocol: str = "P1",
    k: int = 10,
    encoder: TextEncoder | None = None,
    cache: EmbeddingCache | None = None,
) -> FrontierReport:
    """Serve ``config`` on the protocol with each re-ranker at each diversity level.

    Every point is the served pipeline's answer to ``Query(diversity=level, reranker=name)``: the
    pipeline re-ranks its top ``max(5k, 50)`` candidates.

    Args:
        dataset: The full data set; the protocol splits it.
        config: The base configuration (fitted once on the protocol's train split).
        rerankers: Names from :data:`~semrec.pipeline.rerank.RERANKERS`.
        levels: Diversity values in [0, 1].
        encoder: Overrides the configuration's encoder (tests pass a hashing encoder).

    Returns:
        A :class:`FrontierReport` with the base model and MostPopular as reference points.
    """
    run = prepare(dataset, protocol)
    model = Recommender.fit(run.train, config, encoder=encoder, cache=cache)
    popular = RecommenderConfig(scorer="most-popular", encoder=config.encoder, text=config.text)
    report = FrontierReport(protocol, dataset.name, config.scorer, k, max(5 * k, 50))
    report.references.append(FrontierPoint(config.scorer, None, None, run.metrics(run.lists(model, k), k)))
    reference = Recommender.fit(run.train, popular, encoder=encoder, cache=cache)
    report.references.append(FrontierPoint("most-popular", None, None, run.metrics(run.lists(reference, k), k)))
    for name in rerankers:
        for level in levels:
            lists = run.lists(model, k, diversity=float(level), reranker=name)
            report.points.append(FrontierPoint(f"{name} d={level:g}", name, float(level), run.metrics(lists, k)))
    return report
