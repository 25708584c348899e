"""Feature extraction as configuration: token pooling (mean / max / CLS) and PCA dimension.

For each setting of all-MiniLM-L6-v2 (its own pooling is mean): text-only models, where the
embedding is all there is (content-profile on P1, content-profile on P3), and the hybrid on P3
with the embedding as the bridge's only input (no side features) and with them.

Usage: python benchmarks/text_features.py   (about 4 minutes the first time: each pooling re-encodes the catalogue)
"""

from __future__ import annotations

import numpy as np
from semrec.encoders import EmbeddingCache, EncoderConfig, build_encoder

from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.evaluation.runner import prepare, rank_users
from semrec.scorers import ContentProfileScorer, HybridScorer
from semrec.text import TextTemplateConfig

POOLINGS = ("mean", "max", "cls")
PCA_DIMS = (None, 32, 64, 128)


def ndcg(prepared, scorer) -> float:
    lists = rank_users(
        scorer.fit(prepared.data), prepared.histories, 10, len(prepared.items), candidates=prepared.candidates
    )
    return prepared.metrics(lists, 10)["NDCG"]


def main() -> None:
    data = load_named("movielens-100k")
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    cache = EmbeddingCache(cache_root() / "embeddings")
    print(
        "| pooling | PCA dim | content-profile P1 | content-profile P3 | hybrid P3, text only "
        "| hybrid P3, text + side features |"
    )
    print("|---|---|---|---|---|---|")
    for pooling in POOLINGS:
        encoder = build_encoder(EncoderConfig(pooling="model" if pooling == "mean" else pooling))
        for dim in PCA_DIMS:
            p1 = prepare(data, "P1", encoder, text, cache, pca_dim=dim)
            p3 = prepare(data, "P3", encoder, text, cache, pca_dim=dim)
            row = [ndcg(p1, ContentProfileScorer()), ndcg(p3, ContentProfileScorer())]
            features = p3.data.item_features
            p3.data.item_features = np.zeros((len(p3.items), 0), np.float32)
            row.append(ndcg(p3, HybridScorer()))
            p3.data.item_features = features
            row.append(ndcg(p3, HybridScorer()))
            print(
                f"| {pooling}{' (model default)' if pooling == 'mean' else ''} | {dim or 'none (384)'} | "
                + " | ".join(f"{v:.4f}" for v in row)
                + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
