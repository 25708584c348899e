"""LightGBM LambdaRank: the one configuration base and the fit / predict helpers every learned ranker shares.

A ranker here learns from *queries*: each query is a ``(m, n_features) float32`` block of
candidate feature rows with ``(m,) int32`` relevance labels. Models are stored in LightGBM's
native text format (no pickles).

References:
    C. Burges. From RankNet to LambdaRank to LambdaMART: An Overview. MSR-TR-2010-82.
    G. Ke et al. LightGBM: A Highly Efficient Gradient Boosting Decision Tree. NeurIPS 2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from semrec.frozen import FrozenConfig


class LambdaRankConfig(FrozenConfig):
    """LightGBM LambdaRank settings. The defaults are the onboarding ranker's, chosen by the folds'
    validation NDCG on ML-100K P2's train users (``python benchmarks/tune_onboarding.py``)."""

    n_estimators: int = Field(2000, ge=10)
    """Upper bound on boosting rounds (trees); early stopping on held-out queries picks the number."""
    early_stopping_rounds: PositiveInt = 100
    """Stop after this many rounds without a better validation NDCG@10."""
    learning_rate: PositiveFloat = 0.1
    """Shrinkage of each tree."""
    num_leaves: int = Field(15, ge=2)
    """Leaves per tree."""
    min_child_samples: PositiveInt = 100
    """Minimum candidate rows per leaf."""
    truncation: PositiveInt = 20
    """LambdaRank truncation level (pairs below this rank are not weighed)."""
    reg_lambda: NonNegativeFloat = 10.0
    """L2 regularisation of leaf values."""
    subsample: float = Field(0.8, gt=0, le=1)
    """Share of rows bagged for each tree."""
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    """Share of features sampled for each tree."""
    n_jobs: PositiveInt = 2
    """LightGBM threads (scoped to the model; results are deterministic for a given count)."""
    seed: int = 42
    """Seed of bagging and feature sampling."""


def fit_lambdarank(
    config: LambdaRankConfig,
    train: Sequence[tuple[np.ndarray, np.ndarray]],
    valid: Sequence[tuple[np.ndarray, np.ndarray]],
    seed: int,
) -> tuple[str, float]:
    """Train one LambdaRank model, early-stopped on ``valid``'s NDCG@10.

    Args:
        config: LightGBM settings.
        train, valid: Queries as ``(rows (m, n_features) float32, labels (m,) int32)`` pairs.
        seed: LightGBM's ``random_state`` (callers vary it per model of an ensemble).

    Returns:
        ``(model_text, ndcg)``: the booster at its best iteration in LightGBM's text format and its
        NDCG@10 (within each query's candidates, in [0, 1]) on ``valid``.
    """
    import lightgbm

    model = lightgbm.LGBMRanker(
        objective="lambdarank",
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        min_child_samples=config.min_child_samples,
        lambdarank_truncation_level=config.truncation,
        reg_lambda=config.reg_lambda,
        subsample=config.subsample,
        subsample_freq=1,
        colsample_bytree=config.colsample_bytree,
        random_state=seed,
        n_jobs=config.n_jobs,
        deterministic=True,
        force_row_wise=True,  # LightGBM asks for one of the two with deterministic; the same trees, faster here
        verbose=-1,
    )
    model.fit(
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        group=[len(y) for _, y in train],
        eval_X=(np.concatenate([x for x, _ in valid]),),
        eval_y=(np.concatenate([y for _, y in valid]),),
        eval_group=[[len(y) for _, y in valid]],
        eval_at=[10],
        callbacks=[lightgbm.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
    text = model.booster_.model_to_string(num_iteration=model.best_iteration_ or None)
    return text, float(model.best_score_["valid_0"]["ndcg@10"])


def load_boosters(model_texts: Sequence[str]) -> list:
    """``lightgbm.Booster`` objects from their text format."""
    import lightgbm

    return [lightgbm.Booster(model_str=text) for text in model_texts]


def predict_standardised(boosters: Sequence, rows: Sequence[np.ndarray], n_features: int) -> list[np.ndarray]:
    """Bagged predictions: the mean over ``boosters`` of each query's standardised predictions.

    Args:
        boosters: Fitted ``lightgbm.Booster`` objects (at least one).
        rows: Per query, ``(m, n_features) float32`` candidate feature rows (``m`` may be 0).
        n_features: Columns of every block.

    Returns:
        Per query, ``(m,) float32`` scores (higher is better; within-query z-scores, not probabilities).
    """
    bounds = np.cumsum([0, *(len(x) for x in rows)])
    stacked = np.concatenate(rows) if bounds[-1] else np.zeros((0, n_features), np.float32)
    total = np.zeros(len(stacked))
    for booster in boosters:  # one call per booster over every query, standardised per query
        predicted = booster.predict(stacked) if len(stacked) else total
        for lo, hi in pairwise(bounds):
            p = predicted[lo:hi]
            total[lo:hi] += (p - p.mean()) / (p.std() + 1e-9) if hi > lo else 0.0
    return [(total[lo:hi] / len(boosters)).astype(np.float32) for lo, hi in pairwise(bounds)]
