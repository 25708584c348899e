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

import numpy as np

from semrec.data.tables import Dataset, split_list
from semrec.demographics import fit_prior
from semrec.encoders import EmbeddingCache, TextEncoder
from semrec.evaluation.metrics import ranking_metrics
from semrec.evaluation.protocols import split_p2
from semrec.handover import Handover, HandoverConfig
from semrec.ranking import top_k
from semrec.recommender import encode_items, item_texts, ordered_histories
from semrec.scorers import ALSScorer, EASEScorer, MostPopularScorer, histories_to_csr
from semrec.scorers.models import ConditionalScorer
from semrec.text import TextTemplateConfig
from semrec.vocab import IdVocabulary

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
        lines = [f"P2 hand-over curve: NDCG@{self.k} of {self.n_users} cold users, one test set (after the first "
                 f"{max(self.ns)} interactions)", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
        for name, values in self.curve.items():
            lines.append("| " + " | ".join([name, *[f"{v:.4f}" for v in values]]) + " |")
        best = [max(self.curve[b][i] for b in BASELINES) for i in range(len(self.ns))]
        lines.append("| semrec / best baseline | " + " | ".join(f"{s / b:.3f}" for s, b in zip(self.curve["semrec"], best)) + " |")
        lines += ["", f"P2 as defined (n = 5, test = the rest): NDCG@{self.k}", "", "| model | NDCG |", "|---|---|"]
        lines += [f"| {name} | {value:.4f} |" for name, value in self.p2.items()]
        lines += ["", "Text cold-start check (text from the genres of the 5 onboarding items, text only):", "",
                  "| model | NDCG |", "|---|---|"]  # fmt: skip
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
    """"I enjoy comedy, romance and drama" from the genre cells of some items (most frequent first)."""
    counts = Counter(g for cell in genres for g in split_list(cell) if g != "unknown")
    names = [g.lower() for g, _ in counts.most_common(top)]
    if not names:
        return "I enjoy films"
    return "I enjoy " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _ndcg(scores: np.ndarray, histories: list[np.ndarray], relevant: list[np.ndarray], k: int) -> float:
    lists, _ = top_k(scores, k, histories_to_csr(histories, scores.shape[1]))
    return float(ranking_metrics(lists, relevant, k)["NDCG"].mean())


def handover_curve(
    dataset: Dataset,
    encoder: TextEncoder,
    text: TextTemplateConfig,
    cache: EmbeddingCache | None = None,
    ns: Sequence[int] = (0, 1, 3, 5, 10),
    k: int = 10,
    config: HandoverConfig | None = None,
) -> HandoverReport:
    """Run the curve, P2 and the text check; see the module docstring.

    Raises:
        ValueError: The data set has no user table (attributes are part of P2).
    """
    if dataset.users is None:
        raise ValueError("the hand-over curve needs a user table (attributes)")
    ns = sorted(set(ns))
    items = IdVocabulary(dataset.items["item_id"], "item")
    n_items = len(items)
    split = split_p2(dataset.interactions, max(ns))
    train_users = IdVocabulary(sorted(split.train["user_id"].unique(), key=int), "user")
    train = ordered_histories(split.train, train_users, items)
    from semrec.scorers import TrainData

    data = TrainData(train, n_items)
    popular, ease, als = MostPopularScorer().fit(data), EASEScorer().fit(data), ALSScorer().fit(data)
    cold = ConditionalScorer().fit(data)
    prior = fit_prior(dataset.users, train_users.ids.tolist(), train, n_items, dataset.items["genres"].tolist())
    handover = Handover(config or HandoverConfig(), ease, cold, prior, popular)
    users = IdVocabulary(sorted(split.test["user_id"].unique(), key=int), "user")
    onboarding = ordered_histories(split.onboarding, users, items)
    grouped = split.test.groupby("user_id")["item_id"].apply(list)
    relevant = [items.index(grouped[u]) for u in users.ids]
    attributes = dataset.users.set_index("user_id").loc[users.ids.tolist()].to_dict(orient="records")

    def semrec_scores(histories: list[np.ndarray]) -> np.ndarray:
        main = ease.score(histories)
        out = []
        for history, main_row, attrs in zip(histories, main, attributes):
            if len(history):
                out.append(handover.score(history, main_row, attrs, n_items)[0])
            else:
                out.append(handover.prior_scores(attrs, n_items)[0])
        return np.stack(out)

    report = HandoverReport(list(ns), k, len(users))
    models = {"most-popular": popular.score, "ease": ease.score, "als": als.score, "semrec": semrec_scores}
    for name, scorer in models.items():
        report.curve[name] = [_ndcg(scorer([h[:n] for h in onboarding]), [h[:n] for h in onboarding], relevant, k)
                              for n in ns]  # fmt: skip
    # P2 exactly: n = 5, test = everything after the first 5
    exact = split_p2(dataset.interactions, 5)
    grouped5 = exact.test.groupby("user_id")["item_id"].apply(list)
    relevant5 = [items.index(grouped5[u]) for u in users.ids]
    first5 = [h[:5] for h in onboarding]
    for name, scorer in models.items():
        report.p2[name] = _ndcg(scorer(first5), first5, relevant5, k)
    # text cold start: the genres of the 5 onboarding items, as a sentence, ranked by text alone
    embeddings = encode_items(item_texts(dataset.items, text), encoder, cache)
    genres = dataset.items["genres"].to_numpy()
    texts = [genre_text(genres[h]) for h in first5]
    text_scores = encoder.encode(texts, kind="query") @ embeddings.T
    report.text_check = {"most-popular": report.p2["most-popular"], "text only": _ndcg(text_scores, first5, relevant5, k)}
    return report
