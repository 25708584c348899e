"""The cold-user hand-over curve on P2: NDCG@k as a new user reveals n = 0, 1, 3, 5, 10 items.

All n share one test set (each cold user's interactions after the first ``max(n)``), so the
curve shows what each extra interaction is worth. The models see only the first ``n`` items
(and the user's attributes); only those ``n`` are excluded from ranking. Also reported: P2
exactly as the protocol defines it (n = 5, test = the rest), and the text cold-start check (a
text built from the genres of the 5 onboarding items, ranked by text alone).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from semrec.config import RecommenderConfig
from semrec.data.tables import Dataset, split_list
from semrec.evaluation.metrics import ranking_metrics
from semrec.evaluation.runner import ProtocolRun, prepare
from semrec.pipeline import Recommender
from semrec.pipeline.handover import HandoverConfig
from semrec.text import EmbeddingCache, TextEncoder
from semrec.types import Query

BASELINES = ("most-popular", "ease", "als")


@dataclass
class HandoverReport:
    """NDCG@k per model and n, plus P2 (n = 5 exactly) and the text cold-start check."""

    ns: list[int]
    k: int
    n_users: int
    curve: dict[str, list[float]] = field(default_factory=dict)
    p2: dict[str, float] = field(default_factory=dict)
    text_check: dict[str, float] = field(default_factory=dict)

    def markdown(self) -> str:
        head = ["model", *[f"n={n}" for n in self.ns]]
        lines = [
            f"P2 hand-over curve: NDCG@{self.k} of {self.n_users} cold users, one test set (after the first "
            f"{max(self.ns)} interactions)",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
        ]
        for name, values in self.curve.items():
            lines.append("| " + " | ".join([name, *[f"{v:.4f}" for v in values]]) + " |")
        best = [max(self.curve[b][i] for b in BASELINES) for i in range(len(self.ns))]
        lines.append(
            "| semrec / best baseline | "
            + " | ".join(f"{s / b:.3f}" for s, b in zip(self.curve["semrec"], best))
            + " |"
        )
        lines += ["", f"P2 as defined (n = 5, test = the rest): NDCG@{self.k}", "", "| model | NDCG |", "|---|---|"]
        lines += [f"| {name} | {value:.4f} |" for name, value in self.p2.items()]
        lines += [
            "",
            "Text cold-start check (text from the genres of the 5 onboarding items, text only):",
            "",
            "| model | NDCG |",
            "|---|---|",
        ]
        lines += [f"| {name} | {value:.4f} |" for name, value in self.text_check.items()]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "handover.json").write_text(json.dumps(self.__dict__, indent=2))
        (directory / "handover.md").write_text(self.markdown())
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
        for name, values in self.curve.items():
            ax.plot(self.ns, values, marker="o", linewidth=2.5 if name == "semrec" else 1.2, label=name)
        ax.set_xlabel("onboarding interactions revealed (n)")
        ax.set_ylabel(f"NDCG@{self.k}")
        ax.set_title("P2 cold users: from attributes to behaviour")
        ax.set_xticks(self.ns)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(directory / "handover.png")
        plt.close(fig)
        return [directory / "handover.json", directory / "handover.md", directory / "handover.png"]


def genre_text(genres: Sequence[object], top: int = 3) -> str:
    """ "I enjoy comedy, romance and drama" from the genre cells of some items (most frequent first)."""
    counts = Counter(g for cell in genres for g in split_list(cell) if g != "unknown")
    names = [g.lower() for g, _ in counts.most_common(top)]
    if not names:
        return "I enjoy films"
    return "I enjoy " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def handover_curve(
    dataset: Dataset,
    encoder: TextEncoder | None = None,
    cache: EmbeddingCache | None = None,
    ns: Sequence[int] = (0, 1, 3, 5, 10),
    k: int = 10,
    config: RecommenderConfig | None = None,
) -> HandoverReport:
    """Run the curve, P2 and the text check through served pipelines; see the module docstring.

    Args:
        encoder: Overrides every configuration's encoder (tests pass a hashing encoder).
        config: semrec's configuration (default: :class:`~semrec.config.RecommenderConfig` ``()``); the
            baselines are served with the same text settings, without hand-over (plain fold-in).

    Raises:
        ValueError: The data set has no user table (attributes are part of P2).
    """
    if dataset.users is None:
        raise ValueError("the hand-over curve needs a user table (attributes)")
    ns = sorted(set(ns))
    config = config or RecommenderConfig()
    plain = {"encoder": config.encoder, "text": config.text, "handover": HandoverConfig(enabled=False)}
    configs = {name: RecommenderConfig(scorer=name, **plain) for name in BASELINES} | {"semrec": config}
    curve = prepare(dataset, "P2", max(ns))
    exact = prepare(dataset, "P2", 5)
    models = {name: Recommender.fit(curve.train, c, encoder=encoder, cache=cache) for name, c in configs.items()}
    report = HandoverReport(list(ns), k, len(curve.queries))

    def ndcg(run: ProtocolRun, model: Recommender, queries: list[Query]) -> float:
        lists = ProtocolRun(**{**run.__dict__, "queries": queries}).lists(model, k)
        return float(ranking_metrics(lists, run.relevant, k)["NDCG"].mean())

    def first(run: ProtocolRun, n: int) -> list[Query]:
        """The first n revealed items of each cold user, asked at the time of the n-th."""
        return [
            q.model_copy(update={"history": q.history[:n], "context": {"time": int(t[n - 1])} if n else {}})
            for q, t in zip(run.queries, run.times)
        ]

    def alone(queries: list[Query]) -> list[Query]:  # the baselines are the scorers alone: no attributes
        return [q.model_copy(update={"attributes": {}}) for q in queries]

    for name, model in models.items():
        ask = (lambda queries: queries) if name == "semrec" else alone
        report.curve[name] = [ndcg(curve, model, ask(first(curve, n))) for n in ns]
        report.p2[name] = ndcg(exact, model, ask(exact.queries))
    # text cold start: the genres of the 5 onboarding items as a sentence, and nothing else
    genres = dataset.items["genres"].to_numpy()
    texts = [Query(text=genre_text(genres[h])) for h in exact.histories]
    report.text_check = {"most-popular": report.p2["most-popular"], "text only": ndcg(exact, models["semrec"], texts)}
    return report
