"""Choose the hybrid's defaults on validation slices carved from ML-100K train data only.

Each protocol is applied again to its own train split, so no test interaction is seen:
- warm weights (EASE history decay, short-rule weight): the P1 validation slice (each user's
  last 10% of P1 train);
- new-user weights (long rules, popularity weight): P2 applied to P2's train (20% of the
  remaining users reveal their first 5 interactions);
- the bridge's ridge penalty: P3 applied to P3's train (20% of the warm items become cold).

Usage: python benchmarks/tune_hybrid.py   (about 2 minutes on 2 cores; prints one table per slice)
"""

from __future__ import annotations

import itertools

from semrec.encoders import EmbeddingCache, EncoderConfig, build_encoder

from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.evaluation.protocols import PROTOCOLS
from semrec.evaluation.runner import prepare, rank_users
from semrec.scorers import HybridConfig, HybridScorer
from semrec.scorers.rules import SequentialRulesConfig
from semrec.text import TextTemplateConfig


def ndcg(prepared, config: HybridConfig) -> float:
    scorer = HybridScorer(config).fit(prepared.data)
    lists = rank_users(scorer, prepared.histories, 10, len(prepared.items), candidates=prepared.candidates)
    return prepared.metrics(lists, 10)["NDCG"]


def report(title: str, rows: list[tuple[str, float]]) -> None:
    rows = sorted(rows, key=lambda r: -r[1])
    print(f"\n{title}\n\n| setting | validation NDCG@10 |\n|---|---|")
    for name, value in rows[:8]:
        print(f"| {name} | {value:.4f} |")


def main() -> None:
    data = load_named("movielens-100k")
    encoder = build_encoder(EncoderConfig())
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    cache = EmbeddingCache(cache_root() / "embeddings")

    def inner(protocol: str):
        train = PROTOCOLS[protocol](data.interactions).train
        return prepare(Dataset(data.items, train, data.users, f"{protocol}-train"), protocol, encoder, text, cache)

    warm = prepare(data, "P1-validation", encoder, text, cache)
    rows = []
    grid = itertools.product((0.93, 0.95, 0.97), (20, 40), (0.9, 0.95), (0.8, 0.9), (0.6, 1.0, 1.5))
    for decay, window, gap, history, weight in grid:
        short = SequentialRulesConfig(window=window, gap_decay=gap, history_decay=history)
        name = f"ease_decay {decay}, short window {window}, gap {gap}, history {history}, weight {weight}"
        rows.append((name, ndcg(warm, HybridConfig(ease_decay=decay, short_rules=short, short_weight=weight))))
    report("Warm users (P1 validation slice)", rows)

    cold = inner("P2")
    rows = []
    for window, gap, norm, popularity in itertools.product(
        (40, 200), (0.9, 0.99), ("row", "sqrt-row"), (0.0, 0.3, 0.6, 1.0)
    ):
        long = SequentialRulesConfig(window=window, gap_decay=gap, history_decay=1.0, normalise=norm)
        name = f"long window {window}, gap {gap}, {norm}, popularity {popularity}"
        rows.append((name, ndcg(cold, HybridConfig(long_rules=long, cold_popularity=popularity))))
    report("New users (P2 applied to P2 train)", rows)

    items = inner("P3")
    rows = [(f"bridge l2 {l2}", ndcg(items, HybridConfig(bridge_l2=l2))) for l2 in (3, 10, 30, 100, 300)]
    rows.append(("no bridge", ndcg(items, HybridConfig(bridge=False))))
    report("Cold items (P3 applied to P3 train)", rows)


if __name__ == "__main__":
    main()
