"""Cold items in the live pipeline: items added after fit (``upsert_item``) on the P3 split.

The recommender is fitted on P3's train with the 336 cold items absent from the catalogue; each
cold item is then added with its fields (title, year, genres, credits, plot ...), as a shop adds a
product. Every P3 user's history ranks the added items only (PROTOCOL.md P3 test set). Rows: the
hybrid, whose text-to-behaviour bridge scores added items, against the same pipeline without a
bridge (text similarity to the history, the fallback every scorer has), with EASE and the hybrid.

Usage: python benchmarks/live_cold_items.py   (about 2 minutes)
"""

from __future__ import annotations

import time

import numpy as np
from semrec.encoders import EmbeddingCache, EncoderConfig
from semrec.ranking import top_k
from semrec.recommender import Recommender, RecommenderConfig

from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.evaluation.metrics import ranking_metrics
from semrec.evaluation.protocols import split_p3
from semrec.text import TextTemplateConfig


def main() -> None:
    data = load_named("movielens-100k")
    split = split_p3(data.interactions)
    cold = data.items[data.items["item_id"].isin(split.candidates)]
    warm_items = data.items[~data.items["item_id"].isin(split.candidates)]
    train = Dataset(warm_items, split.train, data.users, "p3-train")
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    grouped = split.test.groupby("user_id")["item_id"].apply(list)
    print("| pipeline | scores added items by | P3 NDCG@10 | Recall@10 | ms / upsert |\n|---|---|---|---|---|")
    for label, scorer, config in (
        ("ease", "ease", {}),
        ("hybrid, bridge off", "hybrid", {"bridge": False}),
        ("hybrid", "hybrid", {}),
    ):
        model = Recommender.fit(
            train,
            RecommenderConfig(scorer=scorer, scorer_config=config, encoder=EncoderConfig(), text=text),
            cache=EmbeddingCache(cache_root() / "embeddings"),
        )
        started = time.perf_counter()
        for row in cold.to_dict(orient="records"):
            model.upsert_item(row["item_id"], {k: v for k, v in row.items() if k != "item_id" and isinstance(v, str)})
        per_upsert = (time.perf_counter() - started) / len(cold) * 1000
        added = model.item_vocab.index(cold["item_id"].tolist())
        users = [u for u in grouped.index if model.history_of(u) is not None]
        lists = np.full((len(users), 10), -1, dtype=np.int64)
        for r, user in enumerate(users):
            scores = model.history_scores(model.history_of(user))[added]
            picked, _ = top_k(scores[None, :], 10)
            lists[r] = added[picked[0]]
        relevant = [model.item_vocab.index(grouped[u]) for u in users]
        m = ranking_metrics(lists, relevant, 10)
        how = "text-to-behaviour bridge" if label == "hybrid" else "text similarity to the history"
        print(f"| {label} | {how} | {m['NDCG'].mean():.4f} | {m['Recall'].mean():.4f} | {per_upsert:.1f} |", flush=True)


if __name__ == "__main__":
    main()
