"""The P2 hand-over curve with LightFM (WARP + user/item features) in the same run as semrec.

semrec's and the library baselines' rows come from :func:`semrec.evaluation.handover.handover_curve`
(the code of ``semrec evaluate-handover``): served pipelines (:class:`semrec.pipeline.Recommender`)
fitted on P2's train and asked each cold user's query with the first n onboarding items as its
history, through ``recommend_many``. LightFM is an external baseline, not a pipeline: it cannot
fold a history in without training, so for each n it is refitted on P2's train plus every cold
user's first n interactions, with user features (identity, age quartile, gender, occupation) and
item features (identity, genres); 64 components, learning rate 0.05, 60 epochs (the PROTOCOL.md reference
settings); the n revealed items are excluded from its lists, as the pipelines exclude them. All
rows share one test set: each cold user's interactions after the first 10.
Needs `pip install lightfm-next==1.19.0` (builds from source in under a minute).

Usage: python benchmarks/handover_lightfm.py [--encoder all-MiniLM-L6-v2]   (about 6 minutes)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import split_list
from semrec.evaluation.handover import BASELINES, handover_curve
from semrec.evaluation.metrics import ranking_metrics
from semrec.evaluation.runner import ProtocolRun, prepare
from semrec.pipeline.topk import top_k
from semrec.scorers import histories_to_csr
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig

NS = (0, 1, 3, 5, 10)


def lightfm_scores(run: ProtocolRun, n: int) -> np.ndarray:
    """``(n_cold_users, n_items) float32`` LightFM WARP scores, refitted with each cold user's first ``n`` items."""
    from lightfm import LightFM
    from lightfm.data import Dataset as LFDataset

    data, items = run.dataset, run.items
    users = data.users.set_index("user_id")
    edges = np.quantile(users["age"].astype(float), [0.25, 0.5, 0.75])

    def user_features(uid: str) -> list[str]:
        row = users.loc[uid]
        return [
            f"age:q{int(np.searchsorted(edges, float(row['age']), side='right'))}",
            f"gender:{row['gender']}",
            f"occupation:{row['occupation']}",
        ]

    train = run.train.interactions
    pairs = list(zip(train["user_id"], train["item_id"]))
    pairs += [(uid, item) for uid, history in zip(run.user_ids, run.histories) for item in items.ids[history[:n]]]
    all_users = sorted(set(train["user_id"]) | set(run.user_ids))
    genres = dict(zip(data.items["item_id"], data.items["genres"]))
    lf = LFDataset()
    lf.fit(
        all_users,
        items.ids.tolist(),
        user_features=sorted({f for u in all_users for f in user_features(u)}),
        item_features=sorted({f"genre:{g}" for cell in genres.values() for g in split_list(cell)}),
    )
    interactions, _ = lf.build_interactions(pairs)
    uf = lf.build_user_features((u, user_features(u)) for u in all_users)
    itf = lf.build_item_features((i, [f"genre:{g}" for g in split_list(genres[i])]) for i in items.ids.tolist())
    model = LightFM(no_components=64, loss="warp", learning_rate=0.05, random_state=42)
    model.fit(interactions, user_features=uf, item_features=itf, epochs=60, num_threads=2)
    user_map, _, item_map, _ = lf.mapping()
    order = np.array([item_map[i] for i in items.ids.tolist()])
    out = np.zeros((len(run.user_ids), len(items)), dtype=np.float32)
    for row, uid in enumerate(run.user_ids):
        out[row] = model.predict(user_map[uid], order, user_features=uf, item_features=itf, num_threads=2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=EncoderConfig().model)
    args = parser.parse_args()
    data = load_named("movielens-100k")
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    config = RecommenderConfig(encoder=EncoderConfig(model=args.encoder), text=text)
    report = handover_curve(data, cache=EmbeddingCache(cache_root() / "embeddings"), ns=NS, config=config)
    curve_run, exact = prepare(data, "P2", max(NS)), prepare(data, "P2", 5)
    if curve_run.user_ids != exact.user_ids:
        raise RuntimeError("P2 with n = 5 and n = 10 evaluate different cold users")
    curve, p2 = [], None
    for n in NS:
        started = time.perf_counter()
        scores = lightfm_scores(curve_run, n)
        lists, _ = top_k(scores, 10, histories_to_csr([h[:n] for h in curve_run.histories], len(curve_run.items)))
        curve.append(float(ranking_metrics(lists, curve_run.relevant, 10)["NDCG"].mean()))
        if n == 5:
            p2 = float(ranking_metrics(lists, exact.relevant, 10)["NDCG"].mean())
        print(f"LightFM n={n}: NDCG@10 {curve[-1]:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    report.curve["lightfm-warp+features"] = curve
    print(f"\nencoder {args.encoder}, {report.n_users} cold users\n")
    print("| model | " + " | ".join(f"n={n}" for n in NS) + " |")
    print("|---|" + "---|" * len(NS))
    for name, values in report.curve.items():
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    best = [max(report.curve[b][i] for b in (*BASELINES, "lightfm-warp+features")) for i in range(len(NS))]
    print(
        "| semrec / best baseline | " + " | ".join(f"{s / b:.3f}" for s, b in zip(report.curve["semrec"], best)) + " |"
    )
    print(
        f"\nP2 as defined (n = 5): semrec {report.p2['semrec']:.4f}, LightFM {p2:.4f}, "
        f"MostPopular {report.p2['most-popular']:.4f}, EASE {report.p2['ease']:.4f}"
    )


if __name__ == "__main__":
    main()
