"""Faithfulness of explanations: do the cited history items really raise the item? (ML-100K, served pipeline)

For every P1 user (their training history) and every P2 cold user (the 5 onboarding items, with
attributes and request time), semrec's default model fitted on that protocol's train split
answers ``Query(history=..., k=10, explain=True)``; ``P2-text`` asks the same P2 cold users with a
truthful description in English and in Chinese, alone and with the 5 items. For each of the 10
items whose explanation cites history items, text words or the text's interests, the
counterfactual request removes all cited items from the history (and keeps them blocked, as in
the original request) and the cited words and interests from the text, and asks the same
pipeline for its full ranking: the explanation passes when the item falls (a strict fall: an
item that keeps its place at a lower score counts as a failure here). Reported per source (the pipeline component that
scored the item), with the reasons that cite a zero popularity count or a history item whose
recorded effect is not positive (both should be 0).

Usage: python benchmarks/faithfulness.py [--protocols P1,P2] [--users N]
"""

from __future__ import annotations

import argparse
from collections import Counter

from text_users import chinese, english, top_genres

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.evaluation.runner import prepare
from semrec.pipeline import Recommender
from semrec.pipeline.counterfactual import without_part
from semrec.text import EmbeddingCache
from semrec.types import Query


def explicit(model: Recommender, run, row: int) -> Query:
    """The protocol's query with its history written out (P1 queries name a user: the same history)."""
    query = run.queries[row]
    if query.user_id is None:
        return query
    history = model.catalogue.vocab.ids[run.histories[row]].tolist()
    return Query(history=history)


def check(protocol: str, users: int | None) -> None:
    """P1 / P2: the protocol's own queries; P2-text: P2's cold users with a truthful description
    (English and Chinese, as ``benchmarks/text_users.py``), without a history and with P2's 5
    onboarding items."""
    data = load_named("movielens-100k")
    run = prepare(data, "P2" if protocol == "P2-text" else protocol)
    config = RecommenderConfig(**dataset_entry("movielens-100k").config_fields())
    model = Recommender.fit(run.train, config, cache=EmbeddingCache(cache_root() / "embeddings"))
    rows = range(len(run.queries) if users is None else min(users, len(run.queries)))
    queries = [explicit(model, run, r) for r in rows]
    if protocol == "P2-text":
        genres = data.items["genres"].to_numpy()
        described = [top_genres(genres, run.relevant[r]) for r in rows]
        queries = [
            q.model_copy(update={"text": phrase(v), **({} if with_history else {"history": []})})
            for phrase in (english, chinese)
            for with_history in (False, True)
            for q, v in zip(queries, described)
        ]
    measure(model, queries, protocol)


def measure(model: Recommender, queries: list[Query], protocol: str) -> None:
    n = model.n_items
    explained = model.recommend_many([q.model_copy(update={"k": 10, "explain": True}) for q in queries])
    full = model.recommend_many([q.model_copy(update={"k": n}) for q in queries])
    tests, owners = [], []
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    zero_counts = non_positive = cited_items = 0
    for q, answer, ranking in zip(queries, explained, full):
        rank = {item: r for r, item in enumerate(ranking.item_ids)}
        for item, source, e in zip(answer.item_ids, answer.item_sources, answer.explanations or []):
            zero_counts += e.reason.startswith("Popular: 0 ")
            non_positive += sum(w <= 0 for _, w in e.because)
            if not (e.because or e.matched_words or e.interests):
                continue
            cited = [c for c, _ in e.because]
            cited_items += len(cited) + len(e.matched_words) + len(e.interests)
            history = [h for h in q.history if h not in cited]
            text = q.text
            for part in [*e.interests, *e.matched_words]:
                text = None if text is None else without_part(text, part)
            update = {"history": history, "exclude": [*q.exclude, *cited], "k": n, "explain": False, "text": text}
            tests.append(q.model_copy(update=update))
            kinds = "+".join(
                k for k, on in (("history", e.because), ("words", e.matched_words), ("interests", e.interests)) if on
            )
            owners.append((item, f"{source or 'none'} ({kinds})", rank[item]))
    for test, (item, source, before) in zip(model.recommend_many(tests), owners):
        after = list(test.item_ids).index(item)
        total[source] += 1
        passed[source] += after > before
    explained_items = sum(len(a.item_ids) for a in explained)
    print(
        f"\n{protocol}: {len(queries)} requests, {explained_items} explained items, "
        f"{sum(total.values())} cite history items, text words or interests ({cited_items} citations)"
    )
    print("| source (what is cited) | explanations | counterfactual passes | rate |\n|---|---|---|---|")
    for source in sorted(total):
        print(f"| {source} | {total[source]} | {passed[source]} | {passed[source] / total[source]:.3f} |")
    overall = sum(passed.values()) / max(sum(total.values()), 1)
    print(
        f"overall pass rate {overall:.3f}; reasons citing a zero count: {zero_counts}; "
        f"cited history items with a non-positive effect: {non_positive}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", default="P1,P2,P2-text")
    parser.add_argument("--users", type=int, help="only the first N users of each protocol")
    args = parser.parse_args()
    for protocol in args.protocols.split(","):
        check(protocol, args.users)


if __name__ == "__main__":
    main()
