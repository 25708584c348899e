"""Cost of grounded explanations: top-10 with and without ``explain`` for every ML-100K user.

Both requests go through the served pipeline (:class:`semrec.pipeline.Recommender`, semrec's
default fitted on all of ML-100K): ``recommend(Query(user_id=u, k=10))`` and the same query with
``explain=True``.

The baseline of the same run is the plain request; the figure of merit is the extra median
milliseconds per top-10 list. It also counts the cited facts and verifies each one against the
data (history items in the user's history, shared attributes on both items).

Usage: python benchmarks/explain_cost.py
"""

from __future__ import annotations

import statistics
import time

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import split_list
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, TextTemplateConfig
from semrec.types import Query


def main() -> None:
    data = load_named("movielens-100k")
    config = RecommenderConfig(text=TextTemplateConfig(template=dataset_entry("movielens-100k").text_template))
    model = Recommender.fit(data, config, cache=EmbeddingCache(cache_root() / "embeddings"))
    items = model.catalogue.items.set_index("item_id")
    vocab = model.catalogue.vocab
    plain, explained, facts, true_facts = [], [], 0, 0
    users = model.users.vocab.ids.tolist()
    model.recommend(Query(user_id=users[0], explain=True))  # build the explainer once
    for user_id in users:
        started = time.perf_counter()
        model.recommend(Query(user_id=user_id, k=10))
        plain.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        result = model.recommend(Query(user_id=user_id, k=10, explain=True))
        explained.append((time.perf_counter() - started) * 1000)
        history = set(vocab.ids[model.users.lookup(user_id, vocab).history].tolist())
        for item_id, explanation in zip(result.item_ids, result.explanations):
            cited = [c for c, _ in explanation.because]
            facts += len(cited)
            true_facts += sum(c in history for c in cited)
            for field, values in explanation.shared.items():
                both = set(split_list(items.at[item_id, field])) & set().union(
                    *(split_list(items.at[c, field]) for c in cited)
                )
                facts += len(values)
                true_facts += sum(v in both for v in values)
    extra = [e - p for e, p in zip(explained, plain)]
    print("| users | median ms plain | median ms with explain | median extra ms | cited facts | verified true |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {len(users)} | {statistics.median(plain):.2f} | {statistics.median(explained):.2f} | "
        f"{statistics.median(extra):.2f} | {facts:,} | {true_facts / facts:.2%} |"
    )


if __name__ == "__main__":
    main()
