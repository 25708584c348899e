"""Feature extraction as configuration: token pooling (mean / max / CLS) and PCA dimension.

For each setting of all-MiniLM-L6-v2 (its own pooling is mean; ``EncoderConfig(pooling=...,
pca_dim=...)``), served pipelines (:class:`semrec.pipeline.Recommender`) fitted on the protocol's
train split and asked its queries through ``recommend_many``: text-only models, where the embedding
is all there is (content-profile on P1 and on P3, served without the new-user hand-over), and the
hybrid (the onboarding ranker off) on P3 with the embedding as the bridge's only input and with the
side features of :mod:`semrec.features` next to it. "Text only" fits on an items table reduced to
the id and the rendered item text (the same text, so the same embedding), from which no side
features are learned.

Every query here has a non-empty history, which the main scorer answers itself, so the pipelines
are fitted without the user table (the attribute prior, the slowest part of a fit, would never be
asked; the lists are the same).

Usage: python benchmarks/text_features.py   (about 8 minutes; the first time each pooling also re-encodes the catalogue)
"""

from __future__ import annotations

import pandas as pd

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.evaluation.runner import ProtocolRun, prepare
from semrec.ltr.onboarding import OnboardingConfig
from semrec.pipeline import Recommender
from semrec.pipeline.handover import HandoverConfig
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig, build_encoder
from semrec.training import item_texts

POOLINGS = ("mean", "max", "cls")
PCA_DIMS = (None, 32, 64, 128)
TEXT_ONLY = TextTemplateConfig(template="{item_text}")


def text_only_items(items: pd.DataFrame, text: TextTemplateConfig) -> pd.DataFrame:
    """``items`` reduced to ``item_id`` and the text ``text`` renders (no column to learn side features from)."""
    return pd.DataFrame({"item_id": items["item_id"], "item_text": item_texts(items, text)[0]})


def main() -> None:
    data = load_named("movielens-100k")
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    cache = EmbeddingCache(cache_root() / "embeddings")
    p1, p3 = prepare(data, "P1"), prepare(data, "P3")
    bare = text_only_items(data.items, text)

    def ndcg(run: ProtocolRun, config: RecommenderConfig, encoder, items: pd.DataFrame | None = None) -> float:
        train = Dataset(run.train.items if items is None else items, run.train.interactions, None, run.train.name)
        model = Recommender.fit(train, config, encoder=encoder, cache=cache)
        return run.metrics(run.lists(model, 10), 10)["NDCG"]

    print(
        "| pooling | PCA dim | content-profile P1 | content-profile P3 | hybrid P3, text only "
        "| hybrid P3, text + side features |"
    )
    print("|---|---|---|---|---|---|")
    for pooling in POOLINGS:
        encoding = EncoderConfig(pooling="model" if pooling == "mean" else pooling)
        encoder = build_encoder(encoding)
        for dim in PCA_DIMS:
            encoding = encoding.model_copy(update={"pca_dim": dim})
            content = RecommenderConfig(
                scorer="content-profile", encoder=encoding, text=text, handover=HandoverConfig(enabled=False)
            )
            hybrid = RecommenderConfig(encoder=encoding, text=text, onboarding=OnboardingConfig())
            row = [
                ndcg(p1, content, encoder),
                ndcg(p3, content, encoder),
                ndcg(p3, hybrid.model_copy(update={"text": TEXT_ONLY}), encoder, bare),
                ndcg(p3, hybrid, encoder),
            ]
            print(
                f"| {pooling}{' (model default)' if pooling == 'mean' else ''} | {dim or 'none (384)'} | "
                + " | ".join(f"{v:.4f}" for v in row)
                + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
