"""Offline evidence for time context on P1: EASE with and without the hour/weekday item lift.

The request time of a test user is the timestamp of their first test interaction (what a
service would see when the user comes back). The weight is chosen on the P1 validation slice
and reported on P1 test; weight 0 is the context-free baseline of the same run.

Usage: python benchmarks/context_p1.py
"""

from __future__ import annotations

import numpy as np
from semrec.context import TimeContextModel, standardise
from semrec.ranking import top_k
from semrec.recommender import ordered_histories_with_times

from semrec.data.registry import load_named
from semrec.evaluation.metrics import ranking_metrics
from semrec.evaluation.protocols import split_p1, split_p1_validation
from semrec.scorers import EASEScorer, TrainData, histories_to_csr
from semrec.vocab import IdVocabulary

WEIGHTS = (0.0, 0.05, 0.1, 0.25, 0.5)


def run(split, items: IdVocabulary) -> dict[float, tuple[float, float]]:
    users = IdVocabulary(sorted(split.train["user_id"].unique(), key=int), "user")
    histories, times = ordered_histories_with_times(split.train, users, items)
    ease = EASEScorer().fit(TrainData(histories, len(items)))
    context = TimeContextModel.fit(histories, times, len(items))
    test = split.test[split.test["user_id"].isin(set(users.ids.tolist()))]
    order = sorted(test["user_id"].unique(), key=int)
    positions = users.index(order)
    grouped = test.groupby("user_id")["item_id"].apply(list)
    relevant = [items.index(grouped[user]) for user in order]
    request_time = test.groupby("user_id")["timestamp"].min().loc[order].to_numpy()
    hist = [histories[p] for p in positions]
    base = np.stack([standardise(row) for row in ease.score(hist)])
    lift = np.stack([context.lift(int(t // 3600 % 24), int((t // 86400 + 3) % 7), len(items)) for t in request_time])
    exclude = histories_to_csr(hist, len(items))
    out = {}
    for weight in WEIGHTS:
        lists, _ = top_k(base + weight * lift, 10, exclude)
        metrics = ranking_metrics(lists, relevant, 10)
        out[weight] = (float(metrics["NDCG"].mean()), float(metrics["Recall"].mean()))
    return out


def main() -> None:
    data = load_named("movielens-100k")
    items = IdVocabulary(data.items["item_id"])
    validation = run(split_p1_validation(data.interactions), items)
    test = run(split_p1(data.interactions), items)
    best = max(WEIGHTS, key=lambda w: validation[w][0])
    print("| time weight | validation NDCG@10 | P1 NDCG@10 | P1 Recall@10 | P1 NDCG ratio to no context |")
    print("|---|---|---|---|---|")
    for weight in WEIGHTS:
        mark = " (chosen on validation)" if weight == best else ""
        print(
            f"| {weight:g}{mark} | {validation[weight][0]:.4f} | {test[weight][0]:.4f} | {test[weight][1]:.4f} | "
            f"{test[weight][0] / test[0.0][0]:.3f} |"
        )


if __name__ == "__main__":
    main()
