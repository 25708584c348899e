"""How much each text source gives cold items: P3 with the hybrid's bridge fed different inputs.

Rows: enriched text (title, year, genres, director, writer, cast, country, keywords, tagline,
plot) vs titles-only text (title, year, genres), each with and without the side features of
:mod:`semrec.features`, plus side features alone. Encoder: all-MiniLM-L6-v2 (packaged).

Usage: python benchmarks/text_ablation_p3.py   (about 1 minute once item texts are cached)
"""

from __future__ import annotations

import numpy as np
from semrec.encoders import EmbeddingCache, EncoderConfig, build_encoder

from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.evaluation.runner import prepare, rank_users
from semrec.scorers import HybridScorer
from semrec.text import TextTemplateConfig

TITLES_ONLY = "{title}[ ({year})]. [Genres: {genres}.]"


def main() -> None:
    data = load_named("movielens-100k")
    encoder = build_encoder(EncoderConfig())
    cache = EmbeddingCache(cache_root() / "embeddings")
    print("| item text | side features | P3 NDCG@10 | Recall@10 |\n|---|---|---|---|")
    for label, template in (("enriched", dataset_entry("movielens-100k").text_template), ("titles only", TITLES_ONLY)):
        prepared = prepare(data, "P3", encoder, TextTemplateConfig(template=template), cache)
        features = prepared.data.item_features
        runs = [("yes", features), ("no", np.zeros((len(prepared.items), 0), np.float32))]
        for side, block in runs:
            prepared.data.item_features = block
            lists = rank_users(
                HybridScorer().fit(prepared.data),
                prepared.histories,
                10,
                len(prepared.items),
                candidates=prepared.candidates,
            )
            m = prepared.metrics(lists, 10)
            print(f"| {label} | {side} | {m['NDCG']:.4f} | {m['Recall']:.4f} |", flush=True)
        if label == "enriched":
            prepared.data.item_features, prepared.data.item_embeddings = features, None
            lists = rank_users(
                HybridScorer().fit(prepared.data),
                prepared.histories,
                10,
                len(prepared.items),
                candidates=prepared.candidates,
            )
            m = prepared.metrics(lists, 10)
            print(f"| none (no embeddings) | yes | {m['NDCG']:.4f} | {m['Recall']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
