"""P1 through the full pipeline: EASE alone vs the learned ranking stage, with and without time features
(two seeds, to show the spread).

Each model is fitted on P1's train only (the ranker carves its own validation slice from it);
every test user is asked once with the request time set to their first test interaction.

Usage: python benchmarks/ranker_p1.py
"""

from __future__ import annotations

import time

import numpy as np

from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.encoders import EmbeddingCache, EncoderConfig
from semrec.evaluation.metrics import coverage, intra_list_diversity, ranking_metrics
from semrec.data.tables import split_list
from semrec.evaluation.protocols import split_p1
from semrec.handover import HandoverConfig
from semrec.ranker import RankerConfig
from semrec.recommender import Query, Recommender, RecommenderConfig
from semrec.text import TextTemplateConfig


def main() -> None:
    data = load_named("movielens-100k")
    split = split_p1(data.interactions)
    train = Dataset(data.items, split.train, data.users, "p1-train")
    users = sorted(split.test["user_id"].unique(), key=int)
    grouped = split.test.groupby("user_id")
    request = grouped["timestamp"].min()
    base = RecommenderConfig(encoder=EncoderConfig(model="use-multilingual"), handover=HandoverConfig(enabled=False),
                             text=TextTemplateConfig(template=dataset_entry("movielens-100k").text_template))  # fmt: skip
    variants = {"ease (pipeline)": base}
    for seed in (42, 7):
        for time_features in (False, True):
            label = f"ranker {'with' if time_features else 'without'} time features, seed {seed}"
            ranker = RankerConfig(enabled=True, time_features=time_features, seed=seed)
            variants[label] = base.model_copy(update={"ranker": ranker})
    print("| model | NDCG@10 | Recall@10 | HR@10 | Coverage@10 | ILD@10 | fit s | ms / request |")
    print("|---|---|---|---|---|---|---|---|")
    tags = [frozenset(split_list(g)) for g in data.items["genres"]]
    for name, config in variants.items():
        started = time.perf_counter()
        model = Recommender.fit(train, config, cache=EmbeddingCache(cache_root() / "embeddings"))
        fit_seconds = time.perf_counter() - started
        lists = np.full((len(users), 10), -1, dtype=np.int64)
        started = time.perf_counter()
        for row, user in enumerate(users):
            result = model.recommend(Query(user_id=user, k=10, context={"time": int(request[user])}))
            lists[row, : len(result.item_ids)] = model.item_vocab.index(result.item_ids.tolist())
        per_request = (time.perf_counter() - started) / len(users) * 1000
        relevant = [model.item_vocab.index(grouped.get_group(u)["item_id"].tolist()) for u in users]
        m = ranking_metrics(lists, relevant, 10)
        print(f"| {name} | {m['NDCG'].mean():.4f} | {m['Recall'].mean():.4f} | {m['HR'].mean():.4f} | "
              f"{coverage(lists, len(model.item_vocab)):.4f} | {intra_list_diversity(lists, tags).mean():.4f} | "
              f"{fit_seconds:.1f} | {per_request:.2f} |", flush=True)


if __name__ == "__main__":
    main()
