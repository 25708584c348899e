"""The P2 hand-over curve with LightFM (WARP + user/item features) in the same run as semrec.

LightFM cannot fold a history in without training, so for each n it is refitted on P2's train
plus every cold user's first n interactions, with user features (identity, age quartile, gender,
occupation) and item features (identity, genres); 64 components, learning rate 0.05, 60 epochs
(the PROTOCOL.md reference settings). semrec's row comes from `semrec evaluate-handover`'s code.
Needs `pip install lightfm-next==1.19.0` (builds from source in under a minute).

Usage: python benchmarks/handover_lightfm.py
"""

from __future__ import annotations

import time

import numpy as np
from semrec.encoders import EmbeddingCache, EncoderConfig, build_encoder
from semrec.ranking import top_k
from semrec.recommender import ordered_histories

from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import split_list
from semrec.evaluation.handover import BASELINES, handover_curve
from semrec.evaluation.metrics import ranking_metrics
from semrec.evaluation.protocols import split_p2
from semrec.scorers import histories_to_csr
from semrec.text import TextTemplateConfig
from semrec.vocab import IdVocabulary

NS = (0, 1, 3, 5, 10)


def lightfm_scores(data, onboarding_frame, cold_ids, n, items: IdVocabulary) -> np.ndarray:
    from lightfm import LightFM
    from lightfm.data import Dataset as LFDataset

    users = data.users.set_index("user_id")
    ages = users["age"].astype(float)
    edges = np.quantile(ages, [0.25, 0.5, 0.75])

    def user_features(uid):
        row = users.loc[uid]
        return [
            f"age:q{int(np.searchsorted(edges, float(row['age']), side='right'))}",
            f"gender:{row['gender']}",
            f"occupation:{row['occupation']}",
        ]

    split = split_p2(data.interactions, max(NS))
    revealed = onboarding_frame[onboarding_frame["rank"] < n]
    train = [*zip(split.train["user_id"], split.train["item_id"]), *zip(revealed["user_id"], revealed["item_id"])]
    all_users = sorted(set(split.train["user_id"]) | set(cold_ids))
    genres = dict(zip(data.items["item_id"], data.items["genres"]))
    lf = LFDataset()
    lf.fit(
        all_users,
        items.ids.tolist(),
        user_features=sorted({f for u in all_users for f in user_features(u)}),
        item_features=sorted({f"genre:{g}" for cell in genres.values() for g in split_list(cell)}),
    )
    interactions, _ = lf.build_interactions(train)
    uf = lf.build_user_features((u, user_features(u)) for u in all_users)
    itf = lf.build_item_features((i, [f"genre:{g}" for g in split_list(genres[i])]) for i in items.ids.tolist())
    model = LightFM(no_components=64, loss="warp", learning_rate=0.05, random_state=42)
    model.fit(interactions, user_features=uf, item_features=itf, epochs=60, num_threads=2)
    user_map, _, item_map, _ = lf.mapping()
    order = np.array([item_map[i] for i in items.ids.tolist()])
    out = np.zeros((len(cold_ids), len(items)), dtype=np.float32)
    for row, uid in enumerate(cold_ids):
        out[row] = model.predict(user_map[uid], order, user_features=uf, item_features=itf, num_threads=2)
    return out


def main() -> None:
    data = load_named("movielens-100k")
    template = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    report = handover_curve(
        data,
        build_encoder(EncoderConfig(model="use-multilingual")),
        template,
        EmbeddingCache(cache_root() / "embeddings"),
        NS,
    )
    items = IdVocabulary(data.items["item_id"])
    split = split_p2(data.interactions, max(NS))
    cold = IdVocabulary(sorted(split.test["user_id"].unique(), key=int), "user")
    onboarding = ordered_histories(split.onboarding, cold, items)
    frame = split.onboarding.assign(rank=split.onboarding.groupby("user_id").cumcount())
    grouped = split.test.groupby("user_id")["item_id"].apply(list)
    relevant = [items.index(grouped[u]) for u in cold.ids]
    exact = split_p2(data.interactions, 5).test.groupby("user_id")["item_id"].apply(list)
    relevant5 = [items.index(exact[u]) for u in cold.ids]
    curve, p2 = [], None
    for n in NS:
        started = time.perf_counter()
        scores = lightfm_scores(data, frame, cold.ids.tolist(), n, items)
        seen = [h[:n] for h in onboarding]
        lists, _ = top_k(scores, 10, histories_to_csr(seen, len(items)))
        curve.append(float(ranking_metrics(lists, relevant, 10)["NDCG"].mean()))
        if n == 5:
            p2 = float(ranking_metrics(lists, relevant5, 10)["NDCG"].mean())
        print(f"LightFM n={n}: NDCG@10 {curve[-1]:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    report.curve["lightfm-warp+features"] = curve
    print("\n| model | " + " | ".join(f"n={n}" for n in NS) + " |")
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
