"""Cold items in the live pipeline: items added after fit (``Recommender.upsert_item``) on the P3 split.

The served pipeline (:class:`semrec.pipeline.Recommender`) is fitted on P3's train with the 336
cold items absent from the catalogue; each cold item is then added with its fields (title, year,
genres, credits, plot ...), as a shop adds a product. Every P3 user's query (``Query(user_id=u,
candidates=<the cold items>)``, PROTOCOL.md P3) is answered through ``recommend_many``, so the
added items are ranked among themselves. Rows: semrec's default (the hybrid, whose text-to-behaviour
bridge scores added items) against the same pipeline without a bridge (text similarity to the
history, the fallback every scorer has), with EASE and the hybrid.

Usage: python benchmarks/live_cold_items.py   (several minutes: 3 fits, 2 with the onboarding ranker, 3 x 336 upserts)
"""

from __future__ import annotations

import time

import pandas as pd

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.evaluation.runner import prepare
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig, build_encoder


def main() -> None:
    data = load_named("movielens-100k")
    run = prepare(data, "P3")
    cold_ids = set(run.items.ids[run.candidates].tolist())
    cold = data.items[data.items["item_id"].isin(cold_ids)]
    train = Dataset(data.items[~data.items["item_id"].isin(cold_ids)], run.train.interactions, data.users, "p3-train")
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    encoder = build_encoder(EncoderConfig())
    cache = EmbeddingCache(cache_root() / "embeddings")
    print(f"{len(cold)} cold items added after fit, {len(run.queries)} P3 users\n", flush=True)
    print("| pipeline | scores added items by | P3 NDCG@10 | Recall@10 | ms / upsert |\n|---|---|---|---|---|")
    similarity, bridge = "text similarity to the history", "text-to-behaviour bridge"
    for label, how, config in (
        ("ease", similarity, RecommenderConfig(scorer="ease", text=text)),
        ("hybrid, bridge off", similarity, RecommenderConfig(scorer_config={"bridge": False}, text=text)),
        ("hybrid (semrec default)", bridge, RecommenderConfig(text=text)),
    ):
        model = Recommender.fit(train, config, encoder=encoder, cache=cache)
        started = time.perf_counter()
        for row in cold.to_dict(orient="records"):
            model.upsert_item(row["item_id"], {k: v for k, v in row.items() if k != "item_id" and not pd.isna(v)})
        per_upsert = (time.perf_counter() - started) / len(cold) * 1000
        m = run.metrics(run.lists(model, 10), 10)
        print(f"| {label} | {how} | {m['NDCG']:.4f} | {m['Recall']:.4f} | {per_upsert:.1f} |", flush=True)


if __name__ == "__main__":
    main()
