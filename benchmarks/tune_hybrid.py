"""Choose the hybrid's defaults on validation slices carved from ML-100K train data only.

Each grid point is a served pipeline (:class:`semrec.pipeline.Recommender`, the hybrid alone: the
onboarding ranker off) fitted on a train-only split and asked that split's queries through
``recommend_many`` (:meth:`semrec.evaluation.runner.ProtocolRun.lists`); no test interaction is seen:

- warm weights (EASE history decay, short-rule window / gap / history decays and weight): the P1
  validation slice (each user's last 10% of P1 train);
- new-user weights (long rules, popularity weight): P2 applied to P2's train (20% of the remaining
  users reveal their first 5 interactions);
- the bridge's ridge penalty: P3 applied to P3's train (20% of the warm items become cold, ranked
  among themselves).

The pipelines are fitted without the user table: every query here has a non-empty history, which
the hybrid answers itself, so the attribute prior (the slowest part of a fit) would never be asked
and the lists are the same as with it.

Usage: python benchmarks/tune_hybrid.py   (about 5 minutes on 2 cores, 110 fits; one table per slice)
"""

from __future__ import annotations

import itertools

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.evaluation.protocols import PROTOCOLS
from semrec.evaluation.runner import ProtocolRun, prepare
from semrec.ltr.onboarding import OnboardingConfig
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig, build_encoder


def main() -> None:
    data = load_named("movielens-100k")
    encoder = build_encoder(EncoderConfig())
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    cache = EmbeddingCache(cache_root() / "embeddings")

    def ndcg(run: ProtocolRun, **hybrid) -> float:
        """Validation NDCG@10 of the served hybrid with ``hybrid`` hyper-parameters on ``run``."""
        config = RecommenderConfig(scorer_config=hybrid, text=text, onboarding=OnboardingConfig())
        train = Dataset(run.train.items, run.train.interactions, None, run.train.name)  # see the docstring
        model = Recommender.fit(train, config, encoder=encoder, cache=cache)
        return run.metrics(run.lists(model, 10), 10)["NDCG"]

    def inner(protocol: str) -> ProtocolRun:
        """``protocol`` applied again to its own train split."""
        train = PROTOCOLS[protocol](data.interactions).train
        return prepare(Dataset(data.items, train, data.users, f"{protocol}-train"), protocol)

    warm = prepare(data, "P1-validation")
    rows = []
    grid = itertools.product((0.93, 0.95, 0.97), (20, 40), (0.9, 0.95), (0.8, 0.9), (0.6, 1.0, 1.5))
    for decay, window, gap, history, weight in grid:
        short = {"window": window, "gap_decay": gap, "history_decay": history}
        name = f"ease_decay {decay}, short window {window}, gap {gap}, history {history}, weight {weight}"
        rows.append((name, ndcg(warm, ease_decay=decay, short_rules=short, short_weight=weight)))
    report("Warm users (P1 validation slice)", rows)

    cold = inner("P2")
    rows = []
    for window, gap, norm, popularity in itertools.product(
        (40, 200), (0.9, 0.99), ("row", "sqrt-row"), (0.0, 0.3, 0.6, 1.0)
    ):
        long = {"window": window, "gap_decay": gap, "history_decay": 1.0, "normalise": norm}
        name = f"long window {window}, gap {gap}, {norm}, popularity {popularity}"
        rows.append((name, ndcg(cold, long_rules=long, cold_popularity=popularity)))
    report("New users (P2 applied to P2 train)", rows)

    items = inner("P3")
    rows = [(f"bridge l2 {l2}", ndcg(items, bridge_l2=l2)) for l2 in (3, 10, 30, 100, 300)]
    rows.append(("no bridge", ndcg(items, bridge=False)))
    report("Cold items (P3 applied to P3 train)", rows)


def report(title: str, rows: list[tuple[str, float]]) -> None:
    """The best eight rows of ``rows`` (setting, NDCG@10) as a markdown table."""
    rows = sorted(rows, key=lambda r: -r[1])
    print(f"\n{title}\n\n| setting | validation NDCG@10 |\n|---|---|", flush=True)
    for name, value in rows[:8]:
        print(f"| {name} | {value:.4f} |")


if __name__ == "__main__":
    main()
