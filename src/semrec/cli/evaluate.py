"""``semrec evaluate``, ``evaluate-diversity`` and ``evaluate-handover``: offline protocols and their tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from semrec.cli.common import (
    DEFAULT_ENCODER,
    NO_DATA,
    DataOptions,
    EncoderOpt,
    EncodingOpt,
    EscapeOpt,
    NamedDatasetOpt,
    PcaOpt,
    PoolingOpt,
    RayOpt,
    SepOpt,
    TemplateOpt,
    check_scorer,
    console,
    data_options,
    dataset_config,
    load_dataset,
    parse_list,
    parse_numbers,
    print_notes,
    replace,
    user_options,
)
from semrec.cli.llm import LLMBudgetOpt, LLMKeyOpt, LLMModelOpt, LLMUrlOpt, llm_config
from semrec.errors import UsageError

ScorersOpt = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated scorer names, each evaluated with its default configuration. Default per "
        "protocol: P4 most-popular,ease,sasrec,hybrid; MSR most-popular,ease,als,hybrid; the others "
        "most-popular,ease,als,content-profile."
    ),
]
PROTOCOL_SCORERS = {"P4": "most-popular,ease,sasrec,hybrid", "MSR": "most-popular,ease,als,hybrid"}
RerankersOpt = Annotated[str, typer.Option(help="Comma-separated: mmr, mmr-tags, calibrated, topic.")]
LevelsOpt = Annotated[str, typer.Option(help="Comma-separated diversity levels in [0, 1].")]


def _check_k(k: int) -> None:
    if k < 1:
        raise UsageError(f"k must be >= 1, got {k}")


@data_options()
def evaluate(
    protocol: Annotated[
        str,
        typer.Option(
            help="Evaluation protocol: P1, P2, P3, P4 (leave-last-out), MSR (Microsoft Recommenders' "
            "random 75/25), or random (data without timestamps: book-crossing); P1-, P4-, MSR- or "
            "random-validation is the protocol's validation slice of train, for tuning."
        ),
    ] = "P1",
    scorers: ScorersOpt = None,
    source: DataOptions = NO_DATA,
    encoder: EncoderOpt = DEFAULT_ENCODER,
    pooling: PoolingOpt = "model",
    pca_dim: PcaOpt = None,
    ray: RayOpt = None,
    text_template: TemplateOpt = None,
    encoding: EncodingOpt = "utf-8",
    sep: SepOpt = None,
    escapechar: EscapeOpt = None,
    k: Annotated[int, typer.Option("-k", "--k", help="List length.")] = 10,
    onboarding: Annotated[int, typer.Option(help="P2: interactions each cold user reveals.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Folder for <protocol>.json and <protocol>.md.")] = None,
    llm_url: LLMUrlOpt = None,
    llm_model: LLMModelOpt = "local",
    llm_key: LLMKeyOpt = None,
    llm_budget: LLMBudgetOpt = 1.5,
) -> None:
    """Evaluate scorers on a protocol (P1 warm users, P2 cold users, P3 cold items, P4 leave-last-out,
    MSR random 75/25) and print the metric table; P4 on ML-1M and MSR on ML-100K also print the published table.

    Each name is evaluated with its default configuration (``hybrid`` includes the onboarding ranker)."""
    from semrec.config import RecommenderConfig
    from semrec.data.fetch import cache_root
    from semrec.evaluation.protocols import check_protocol
    from semrec.evaluation.runner import METRICS
    from semrec.evaluation.runner import evaluate as run_evaluation
    from semrec.text import EmbeddingCache, EncoderConfig

    check_protocol(protocol)  # before any data is read
    if scorers is None:
        scorers = PROTOCOL_SCORERS.get(protocol.split("-")[0], "most-popular,ease,als,content-profile")
    names = [check_scorer(name) for name in dict.fromkeys(parse_list(scorers))]
    if not names:
        raise UsageError("--scorers names no scorer")
    _check_k(k)
    data, entry = load_dataset(source, encoding=encoding, sep=sep, escapechar=escapechar)
    print_notes(data.notes)
    with user_options():
        encoder_config = EncoderConfig(model=encoder, pooling=pooling, pca_dim=pca_dim)
        fields = dataset_config(entry, text_template)
        configs = {}
        for name in names:
            config = RecommenderConfig(scorer=name, encoder=encoder_config, **fields)
            if config.onboarding.enabled and protocol == "P2" and onboarding > 0:
                # the ranker is trained on simulated onboarding of the length the protocol reveals
                n = {"n_onboarding": onboarding, "max_history": max(config.onboarding.max_history, onboarding)}
                config = replace(config, onboarding=replace(config.onboarding, **n))
            configs[name] = config
    report = run_evaluation(
        data,
        configs,
        protocol,
        k,
        cache=EmbeddingCache(cache_root() / "embeddings"),
        n_onboarding=onboarding,
        ray=ray,
        llm=llm_config(llm_url, llm_model, llm_key, llm_budget),
    )
    paths = report.write(out) if out else None
    table = Table(title=report.markdown().splitlines()[0], title_justify="left")
    table.add_column("scorer")
    for metric in METRICS:
        table.add_column(f"{metric}@{report.k}", justify="right")
    table.add_column("fit s", justify="right")
    table.add_column("users/s", justify="right")
    for result in report.results:
        metrics = [f"{result.metrics[m]:.4f}" for m in METRICS]
        table.add_row(result.scorer, *metrics, f"{result.fit_seconds:.1f}", f"{result.users_per_second:,.0f}")
    Console(width=max(console.width, 150)).print(table)
    print_notes(report.notes)  # what the protocol's split dropped or left unevaluated
    published = report.markdown().split("Published on this protocol", 1)
    if len(published) == 2:
        console.print("Published on this protocol" + published[1], highlight=False, soft_wrap=True)
    if paths:
        console.print(f"wrote {paths[0]} and {paths[1]}", highlight=False, soft_wrap=True)


@data_options(users=False)
def evaluate_diversity(
    source: DataOptions = NO_DATA,
    protocol: Annotated[str, typer.Option(help="Evaluation protocol (P1, or P1-validation for tuning).")] = "P1",
    scorer: Annotated[str, typer.Option(help="Base scorer whose candidates are re-ranked.")] = "hybrid",
    rerankers: RerankersOpt = "mmr,mmr-tags,calibrated,topic",
    levels: LevelsOpt = "0,0.25,0.5,0.75,1",
    encoder: EncoderOpt = DEFAULT_ENCODER,
    text_template: TemplateOpt = None,
    encoding: EncodingOpt = "utf-8",
    sep: SepOpt = None,
    escapechar: EscapeOpt = None,
    k: Annotated[int, typer.Option("-k", "--k", help="List length.")] = 10,
    out: Annotated[Path, typer.Option(help="Folder for frontier.json, frontier.md, frontier.png.")] = Path(
        "artifacts/diversity"
    ),
) -> None:
    """Accuracy / diversity frontier: NDCG, ILD, coverage, novelty per re-ranker and level, plus a PNG."""
    from semrec.config import RecommenderConfig
    from semrec.data.fetch import cache_root
    from semrec.evaluation.diversity import frontier
    from semrec.text import EmbeddingCache, EncoderConfig

    values = parse_numbers(levels, "--levels", float)
    names = parse_list(rerankers)
    _check_k(k)
    data, entry = load_dataset(source, encoding=encoding, sep=sep, escapechar=escapechar)
    print_notes(data.notes)
    with user_options():
        fields = dataset_config(entry, text_template)
        config = RecommenderConfig(scorer=check_scorer(scorer), encoder=EncoderConfig(model=encoder), **fields)
    report = frontier(data, config, names, values, protocol, k, cache=EmbeddingCache(cache_root() / "embeddings"))
    paths = report.write(out)
    print(report.markdown())
    console.print("wrote " + ", ".join(map(str, paths)), highlight=False, soft_wrap=True)


def evaluate_handover(
    dataset: NamedDatasetOpt = "movielens-100k",
    encoder: EncoderOpt = DEFAULT_ENCODER,
    text_template: TemplateOpt = None,
    ns: Annotated[str, typer.Option(help="Onboarding sizes, comma-separated.")] = "0,1,3,5,10",
    out: Annotated[Path, typer.Option(help="Folder for handover.json, .md, .png.")] = Path("artifacts/handover"),
) -> None:
    """P2 cold users: NDCG@10 as a new user reveals n items (curve + PNG), P2 itself, the text check."""
    from semrec.config import RecommenderConfig
    from semrec.data.fetch import cache_root
    from semrec.data.registry import dataset_entry
    from semrec.evaluation.handover import handover_curve
    from semrec.text import EmbeddingCache, EncoderConfig

    sizes = parse_numbers(ns, "--ns", int)
    entry = dataset_entry(dataset)
    with user_options():
        config = RecommenderConfig(encoder=EncoderConfig(model=encoder), **entry.config_fields(text_template))
    cache = EmbeddingCache(cache_root() / "embeddings")
    report = handover_curve(entry.load(None, 5.0), cache=cache, ns=sizes, config=config)
    paths = report.write(out)
    print(report.markdown())
    console.print("wrote " + ", ".join(map(str, paths)), highlight=False, soft_wrap=True)
