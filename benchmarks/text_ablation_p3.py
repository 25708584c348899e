"""How much each text source gives cold items: P3 with the hybrid's bridge fed different inputs.

Every row is a served pipeline (:class:`semrec.pipeline.Recommender`, the hybrid; the onboarding
ranker off) fitted on P3's train split and asked P3's queries (each user's cold items ranked among
themselves) through ``recommend_many``. Rows: enriched text (title, year, genres, director, writer,
cast, country, keywords, tagline, plot) vs titles-only text (title, year, genres), each with and
without the side features of :mod:`semrec.features`, plus side features alone. Encoder:
all-MiniLM-L6-v2 (packaged).

"Without side features" fits on an items table reduced to the id and the rendered item text (the
same text, so the same embedding), from which no side features are learned. "Side features alone"
fits with an encoder whose every vector is zero, so the bridge's embedding columns carry nothing
(the same ridge solution as a bridge without them). P3's queries all have non-empty histories,
which the hybrid answers itself, so the pipelines are fitted without the user table (the attribute
prior would never be asked; the lists are the same).

Usage: python benchmarks/text_ablation_p3.py   (about 1 minute once item texts are cached)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.evaluation.runner import prepare
from semrec.ltr.onboarding import OnboardingConfig
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig, build_encoder
from semrec.training import item_texts

TITLES_ONLY = "{title}[ ({year})]. [Genres: {genres}.]"


class ZeroEncoder:
    """A text encoder whose every vector is ``(1,)`` zero: the embedding says nothing about an item."""

    identity = {"model": "zero", "dim": 1}
    dim = 1

    def encode(self, texts: Sequence[str], kind: str = "document", progress: bool = False) -> np.ndarray:
        return np.zeros((len(texts), 1), dtype=np.float32)  # (n, 1)


def main() -> None:
    data = load_named("movielens-100k")
    encoder = build_encoder(EncoderConfig())
    cache = EmbeddingCache(cache_root() / "embeddings")
    run = prepare(data, "P3")

    def metrics(items: pd.DataFrame, text: TextTemplateConfig, encoder, cache) -> dict[str, float]:
        config = RecommenderConfig(text=text, onboarding=OnboardingConfig())
        train = Dataset(items, run.train.interactions, None, run.train.name)
        model = Recommender.fit(train, config, encoder=encoder, cache=cache)
        return run.metrics(run.lists(model, 10), 10)

    print("| item text | side features | P3 NDCG@10 | Recall@10 |\n|---|---|---|---|")
    enriched = dataset_entry("movielens-100k").text_template
    for label, template in (("enriched", enriched), ("titles only", TITLES_ONLY)):
        text = TextTemplateConfig(template=template)
        bare = pd.DataFrame({"item_id": data.items["item_id"], "item_text": item_texts(data.items, text)[0]})
        for side, (items, used) in (
            ("yes", (data.items, text)),
            ("no", (bare, TextTemplateConfig(template="{item_text}"))),
        ):
            m = metrics(items, used, encoder, cache)
            print(f"| {label} | {side} | {m['NDCG']:.4f} | {m['Recall']:.4f} |", flush=True)
    m = metrics(
        data.items, TextTemplateConfig(template=dataset_entry("movielens-100k").text_template), ZeroEncoder(), None
    )
    print(f"| none (no embeddings) | yes | {m['NDCG']:.4f} | {m['Recall']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
