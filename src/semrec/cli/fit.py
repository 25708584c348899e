"""``semrec fit``: fit a recommender and write its artifact folder."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated

import typer

from semrec.cli.common import (
    DEFAULT_ENCODER,
    NO_DATA,
    DataOptions,
    EncoderOpt,
    EncodingOpt,
    EscapeOpt,
    PcaOpt,
    PoolingOpt,
    RayOpt,
    SepOpt,
    TemplateOpt,
    check_scorer,
    check_scorer_params,
    console,
    data_options,
    dataset_config,
    load_dataset,
    parse_params,
    print_notes,
    replace,
    user_options,
)
from semrec.errors import UsageError

ScorerOpt = Annotated[
    str | None,
    typer.Option(
        help="hybrid, ease, als, item-knn, sequential-rules, most-popular, content-profile, ... "
        "Default: hybrid, or ease-head above 10,000 items (with a note).",
        show_default=False,
    ),
]
OnboardingOpt = Annotated[
    bool | None,
    typer.Option(
        "--onboarding-ranker/--no-onboarding-ranker",
        help="Fit the learned new-user ranker (LightGBM) for histories of 1-10 items. Default: on for hybrid.",
        show_default=False,
    ),
]


def check_new_artifact(out: Path) -> None:
    """``out`` is free, or an artifact that may be replaced.

    Raises:
        UsageError: ``out`` exists and is not a semrec artifact (nothing is overwritten).
    """
    if out.resolve().exists() and not (out / "manifest.json").is_file():
        raise UsageError(f"--out {out} exists and is not a semrec artifact; choose a new folder")


@data_options()
def fit(
    out: Annotated[Path, typer.Option(help="Artifact folder to write.")],
    source: DataOptions = NO_DATA,
    scorer: ScorerOpt = None,
    param: Annotated[list[str] | None, typer.Option(help="Scorer hyper-parameter KEY=VALUE, e.g. l2=200.")] = None,
    encoder: EncoderOpt = DEFAULT_ENCODER,
    pooling: PoolingOpt = "model",
    pca_dim: PcaOpt = None,
    ray: RayOpt = None,
    text_template: TemplateOpt = None,
    encoding: EncodingOpt = "utf-8",
    sep: SepOpt = None,
    escapechar: EscapeOpt = None,
    handover: Annotated[
        bool, typer.Option(help="Blend attributes/popularity into short histories (new users).")
    ] = True,
    onboarding_ranker: OnboardingOpt = None,
    holdout: Annotated[
        str | None,
        typer.Option(
            help="How the lists will be judged, so fit tunes itself alike: temporal (what comes next; the "
            "default) or random (what is missing, order irrelevant)."
        ),
    ] = None,
) -> None:
    """Fit a recommender and write its artifact folder (nothing is written on bad input).

    With --items and no --interactions the model is text-only (a new catalogue: text queries and
    content similarity work at once; behaviour arrives with feedback and a retrain)."""
    from semrec.config import RecommenderConfig
    from semrec.data.fetch import cache_root
    from semrec.pipeline import Recommender
    from semrec.text import EmbeddingCache, EncoderConfig

    started = time.perf_counter()
    check_new_artifact(out)
    params = parse_params(param)
    check_scorer_params(check_scorer(scorer or "hybrid"), params)
    if holdout not in (None, "temporal", "random"):
        raise UsageError(f"--holdout must be temporal or random, got {holdout!r}")
    data, entry = load_dataset(source, encoding=encoding, sep=sep, allow_no_interactions=True, escapechar=escapechar)
    if holdout is not None:
        data = dataclasses.replace(data, holdout=holdout)
    print_notes(data.notes)
    with user_options():
        config = RecommenderConfig(
            **({"scorer": scorer} if scorer is not None else {}),
            scorer_config=params,
            encoder=EncoderConfig(model=encoder, pooling=pooling, pca_dim=pca_dim, ray=ray),
            **dataset_config(entry, text_template),
        )
        config = replace(config, handover=replace(config.handover, enabled=handover))
        if onboarding_ranker is not None:
            config = replace(config, onboarding=replace(config.onboarding, enabled=onboarding_ranker))
    model = Recommender.fit(data, config, cache=EmbeddingCache(cache_root() / "embeddings"), progress=True)
    print_notes(model.fit_notes)
    model.save(out)
    seconds = time.perf_counter() - started
    onboarding = model.config.onboarding
    if onboarding.enabled and model.models.onboarding is None:
        console.print(
            f"note: onboarding ranker not fitted: fewer than {onboarding.min_users} users with more than "
            f"{onboarding.n_onboarding} interactions",
            highlight=False,
            soft_wrap=True,
        )
    elif onboarding.enabled:
        console.print(
            f"onboarding ranker: for histories of 1-{onboarding.max_history} items", highlight=False, soft_wrap=True
        )
    console.print(
        f"fitted {model.scorer.name} on {len(model.users.vocab)} users x {model.n_items} items "
        f"({len(data.interactions)} interactions) in {seconds:.1f} s -> {out}",
        highlight=False,
        soft_wrap=True,
    )
