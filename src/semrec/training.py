"""Fitting: encode the catalogue, fit the main scorer and the cold-start side models, assemble."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from semrec.capacity import plan
from semrec.config import RecommenderConfig
from semrec.data.histories import ordered_histories_with_times, ordered_values
from semrec.data.tables import Dataset
from semrec.features import Projection, item_features, learn_spec
from semrec.ltr.onboarding import OnboardingData, OnboardingRanker, release_years
from semrec.pipeline.ann import ANNIndex
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.models import Models
from semrec.pipeline.recommender import Recommender
from semrec.pipeline.users import ArtifactUsers
from semrec.scorers import ItemConditionalScorer, MostPopularScorer, TrainData
from semrec.scorers.described import DescribedUsersModel, attribute_values
from semrec.scorers.prior import AttributedHistories, fit_prior
from semrec.text import EmbeddingCache, TextEncoder, TextTemplateConfig, build_encoder, render_texts
from semrec.text.parallel import encode_chunks
from semrec.vocab import IdVocabulary

logger = logging.getLogger(__name__)


def item_texts(items, config: TextTemplateConfig) -> tuple[list[str], int]:
    """The text of each item row, as the encoder reads it, and how many were cut to
    ``config.max_chars``."""
    whole = render_texts(items, config.model_copy(update={"max_chars": 2**62}), "item_id")
    return [text[: config.max_chars] for text in whole], sum(len(text) > config.max_chars for text in whole)


def encode_items(
    texts: Sequence[str],
    encoder: TextEncoder,
    cache: EmbeddingCache | None,
    progress: bool = False,
    workers: int | None = None,
    ray: str | None = None,
) -> np.ndarray:
    """``(len(texts), dim) float32`` item embeddings, through ``cache`` when given.

    ``workers``: processes for a large catalogue (:mod:`semrec.text.parallel`; ``None``: every core);
    ``ray``: a Ray address to encode on instead (:mod:`semrec.distributed`).
    """
    if cache is None:
        out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        for positions, vectors in encode_chunks(encoder, texts, "document", workers=workers, ray=ray):
            out[positions] = vectors
        return out
    return cache.encode(encoder, texts, kind="document", progress=progress, workers=workers, ray=ray)


def fit_recommender(
    dataset: Dataset,
    config: RecommenderConfig,
    encoder: TextEncoder | None = None,
    cache: EmbeddingCache | None = None,
    progress: bool = False,
) -> Recommender:
    """Encode item texts, fit every model on every interaction, keep each user's history.

    Args:
        dataset: Validated tables.
        config: The configuration (``RecommenderConfig()``: the hybrid with the onboarding ranker).
        encoder: Overrides ``config.encoder`` (tests pass a :class:`~semrec.text.HashingEncoder`).
        cache: Embedding cache; ``None`` encodes without caching.
        progress: Show progress bars.

    Raises:
        pydantic.ValidationError: Bad scorer hyper-parameters.
        SemrecError: The encoder cannot be loaded, or the catalogue is too large for the chosen
            scorer (:func:`semrec.capacity.plan`, before encoding).
    """
    planned = plan(config, len(dataset.items))  # before any expensive step: refuse early, or scale
    config = planned.config
    for note in planned.notes:
        logger.warning("%s", note)
    scorer = config.build_scorer()
    encoder = encoder or build_encoder(config.encoder)
    items = dataset.items.reset_index(drop=True).copy()
    item_vocab = IdVocabulary(items["item_id"], "item")
    user_vocab = IdVocabulary(dataset.interactions["user_id"].drop_duplicates().tolist(), "user")
    histories, times = ordered_histories_with_times(dataset.interactions, user_vocab, item_vocab)
    texts, n_cut = item_texts(items, config.text)
    if n_cut:  # announced once per fit: the encoder reads only the start of these texts
        planned.notes.append(
            f"{n_cut:,} item texts longer than {config.text.max_chars:,} characters were cut to that length "
            "(TextTemplateConfig.max_chars)"
        )
        logger.warning("%s", planned.notes[-1])
    items["text"] = texts
    started = time.perf_counter()
    embeddings = encode_items(texts, encoder, cache, progress, config.encoder.workers, config.encoder.ray)
    logger.info("encoded %d item texts in %.1f s", len(texts), time.perf_counter() - started)
    projection = None
    if config.encoder.pca_dim is not None:
        projection = Projection.fit(embeddings, config.encoder.pca_dim)
        embeddings = projection.apply(embeddings)
    feature_spec = learn_spec(dataset.items)
    features = item_features(dataset.items, feature_spec)
    data = TrainData(histories, len(item_vocab), embeddings, features, dataset.holdout or "temporal")
    started = time.perf_counter()
    scorer.bind_embeddings(embeddings)
    scorer.fit(data)
    logger.info("fitted %s in %.1f s", scorer.name, time.perf_counter() - started)
    choice = getattr(scorer, "choice", None)
    if choice is not None:
        planned.notes.append(
            f"{scorer.name}: chose l2={choice.l2:g}, ease_decay={choice.ease_decay:g}, short_weight="
            f"{choice.short_weight:g}, sequence_weight={choice.sequence_weight:g} on a {data.holdout} validation "
            f"slice (NDCG@10 {choice.ndcg:.4f})"
        )
        logger.info("%s", planned.notes[-1])
    elif getattr(scorer.config, "tune", False):  # a tuning scorer whose data was too small to carve
        planned.notes.append(
            f"{scorer.name}: not tuned (fewer than 10 users long enough for a {data.holdout} validation slice); "
            "the configured l2, ease_decay and short_weight are used, without the sequence model"
        )
    models = Models(scorer, MostPopularScorer().fit(data))
    needs_handover = config.handover.enabled and not scorer.handles_new_users
    if needs_handover and len(item_vocab) <= ItemConditionalScorer().config.max_items:
        models.conditional = ItemConditionalScorer().fit(data)
    if dataset.users is not None and len(user_vocab):
        tags = items["genres"].tolist() if "genres" in items else None
        models.prior = fit_prior(
            AttributedHistories(dataset.users, user_vocab.ids.tolist(), histories, len(item_vocab)), tags
        )
    if config.onboarding.enabled:
        started = time.perf_counter()
        values = ordered_values(dataset.interactions, user_vocab, item_vocab)
        years = release_years(dataset.items, config.onboarding.release_field)
        onboarding_data = OnboardingData(
            histories,
            times,
            values,
            user_vocab.ids.tolist(),
            dataset.users,
            len(item_vocab),
            embeddings,
            data.item_features,
            years,
        )
        models.onboarding = OnboardingRanker.fit(config.onboarding, onboarding_data)
        outcome = "skipped: too few users" if models.onboarding is None else f"{len(models.onboarding.boosters)} folds"
        logger.info("fitted the onboarding ranker in %.1f s (%s)", time.perf_counter() - started, outcome)
    catalogue = Catalogue(
        items, embeddings, config.encoder, dict(encoder.identity), config.text, projection, feature_spec, encoder
    )
    if len(items) >= config.ann.min_items:
        started = time.perf_counter()
        catalogue.ann = ANNIndex.build(embeddings, config.ann)
        logger.info("built the HNSW text index of %d items in %.1f s", len(items), time.perf_counter() - started)
    if config.text_users.enabled and len(user_vocab):
        liked = attribute_values(items)
        if liked is not None:
            started = time.perf_counter()
            models.described = DescribedUsersModel.fit(
                histories, len(item_vocab), liked, lambda texts: catalogue.embed(texts, "query"), config.text_users
            )
            logger.info("described %d training users in %.1f s", len(histories), time.perf_counter() - started)
    model = Recommender(config, catalogue, ArtifactUsers(user_vocab, histories, times), models)
    model.fit_notes = planned.notes
    return model
