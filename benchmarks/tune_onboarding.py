"""Choose the onboarding ranker's settings on train data only (ML-100K, P2's train split).

Each row fits the served pipeline (:class:`semrec.pipeline.Recommender`: the hybrid with the
onboarding ranker, configured through ``RecommenderConfig(onboarding=...)``) on P2's train split,
exactly as ``semrec fit`` and the accuracy benchmark fit it, and reads the ranker's own validation
(``model.models.onboarding.validation_ndcg``): the ranker trains one LightGBM model per fold of
simulated onboarding (each training user reveals its first 5 interactions; signals are fitted
without the fold) and early-stops it on that fold, so the mean over folds of NDCG@10 on the
held-out fold is a validation score that never touches P2's cold users. (It is LightGBM's NDCG over
each query's candidates, so it is lower than P2's full-catalogue NDCG: relevant items outside the
candidates still count in the ideal DCG there and not here.) One row per LightGBM setting, then per
left-out feature group at the default. (The arrival-time features, neighbourhood score, popularity
within 30 days and days since the item's first interaction, lost here and were removed from
:mod:`semrec.ltr.onboarding`; the neighbourhood still generates candidates.)

Usage: python benchmarks/tune_onboarding.py   (about 8 minutes on 2 cores; run nothing else meanwhile:
      two LightGBM processes on 2 cores slow each other down tenfold)
"""

from __future__ import annotations

import time

import numpy as np

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.evaluation.runner import prepare
from semrec.ltr.onboarding import FEATURES, OnboardingConfig
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig, build_encoder

SETTINGS = {
    "default (100 candidates, 15 leaves, 100 per leaf, truncation 20, learning rate 0.1)": {},
    "learning rate 0.03": {"learning_rate": 0.03},
    "learning rate 0.06": {"learning_rate": 0.06},
    "200 per leaf, truncation 30": {"min_child_samples": 200, "truncation": 30},
    "31 leaves": {"num_leaves": 31},
    "300 candidates (not comparable: more relevant items inside the candidates)": {"candidates": 300},
}
GROUPS = {
    "freshness (release age)": ("release_age_years",),
    "item mean rating": ("mean_rating",),
    "demographic prior": ("demographic_z",),
    "text cosine": ("text_cosine", "text_cosine_z"),
}


def main() -> None:
    data = load_named("movielens-100k")
    encoder = build_encoder(EncoderConfig())
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    cache = EmbeddingCache(cache_root() / "embeddings")
    train = prepare(data, "P2").train  # P2's train users only: the cold users' interactions are not in it
    variants = dict(SETTINGS)
    for group, names in GROUPS.items():
        variants[f"default without {group}"] = {"features": tuple(f for f in FEATURES if f not in names)}
    rows = []
    for name, params in variants.items():
        config = RecommenderConfig(text=text, onboarding=OnboardingConfig(enabled=True, **params))
        started = time.perf_counter()
        ranker = Recommender.fit(train, config, encoder=encoder, cache=cache).models.onboarding
        if ranker is None or ranker.validation_ndcg is None:
            raise RuntimeError("the onboarding ranker was not fitted (too few training users)")
        rows.append((name, float(np.mean(ranker.validation_ndcg)), time.perf_counter() - started))
        print(f"  {name}: {rows[-1][1]:.4f} ({rows[-1][2]:.0f} s)", flush=True)
    print("\n| setting | validation NDCG@10 (mean over 5 folds, within candidates) | pipeline fit s |\n|---|---|---|")
    for name, value, seconds in rows:
        print(f"| {name} | {value:.4f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
