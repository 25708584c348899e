"""``semrec recommend``: one ranked list for a known user, a request-time history or a text."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from semrec.cli.common import (
    ModelOpt,
    console,
    err_console,
    parse_list,
    parse_mapping,
    user_options,
)
from semrec.cli.llm import LLMBudgetOpt, LLMKeyOpt, LLMModelOpt, LLMUrlOpt, llm_config

ContextOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="KEY=VALUE request context, e.g. occasion='rainy Sunday with kids', time=2026-11-29T20:00, weekday=sunday."
    ),
]


def recommend(
    model: ModelOpt,
    user: Annotated[str | None, typer.Option(help="A user id.")] = None,
    text: Annotated[str | None, typer.Option(help="Free text describing the user or the need.")] = None,
    history: Annotated[str | None, typer.Option(help="Comma-separated item ids the user interacted with.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Number of items.")] = 10,
    exclude: Annotated[str | None, typer.Option(help="Comma-separated item ids never to return.")] = None,
    diversity: Annotated[float, typer.Option(help="0 = relevance order, 1 = most diverse.")] = 0.0,
    reranker: Annotated[str, typer.Option(help="auto, topic, mmr, mmr-tags or calibrated.")] = "auto",
    attribute: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE user attribute (age=24, gender=F ...).")
    ] = None,
    context: ContextOpt = None,
    explain: Annotated[bool, typer.Option(help="Print a grounded reason under each item.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    llm_url: LLMUrlOpt = None,
    llm_model: LLMModelOpt = "local",
    llm_key: LLMKeyOpt = None,
    llm_budget: LLMBudgetOpt = 1.5,
) -> None:
    """Recommend for a known user, a request-time history, or a text (cold start)."""
    from semrec.llm import attach
    from semrec.pipeline import Recommender
    from semrec.types import Query

    with user_options():
        query = Query(
            user_id=user,
            text=text,
            history=parse_list(history),
            k=k,
            exclude=parse_list(exclude),
            diversity=diversity,
            reranker=reranker,
            explain=explain,
            context=parse_mapping(context, "--context", "KEY=VALUE"),
            attributes=parse_mapping(attribute, "--attribute", "KEY=VALUE"),
        )
    recommender = Recommender.load(model)
    attach(recommender, llm_config(llm_url, llm_model, llm_key, llm_budget))
    result = recommender.recommend(query)
    titles = recommender.catalogue.titles(result.item_ids.tolist())
    if as_json:
        rows = [
            {"item_id": i, "title": t, "score": float(s)} for i, t, s in zip(result.item_ids, titles, result.scores)
        ]
        for row, explanation in zip(rows, result.explanations or []):
            row["explanation"] = {
                "reason": explanation.reason,
                "because": explanation.because,
                "shared": explanation.shared,
                "matched_words": explanation.matched_words,
                "interests": explanation.interests,
            }
        print(json.dumps({"source": result.source, "notes": result.notes, "items": rows}, ensure_ascii=False))
        return
    genres = recommender.catalogue.items["genres"].to_numpy() if "genres" in recommender.catalogue.items else None
    positions = recommender.catalogue.vocab.index(result.item_ids.tolist())
    shown = text if text is None or len(text) <= 60 else text[:57] + "..."
    who = f"user {user}" if user else (f"text {shown!r}" if text else ("a history" if history else "anyone"))
    table = Table(title=f"top-{len(result.item_ids)} for {who} (source: {result.source})", title_justify="left")
    for column in ("#", "item_id", "title", "genres", "score"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for rank, (item_id, title, position, score) in enumerate(zip(result.item_ids, titles, positions, result.scores), 1):
        genre = "" if genres is None or genres[position] is None else str(genres[position]).replace("|", ", ")
        title = escape(str(title))
        if result.explanations:
            title = f"{title}\n[dim]{escape(result.explanations[rank - 1].reason)}[/]"
        table.add_row(str(rank), escape(str(item_id)), title, escape(genre), f"{score:.3f}")
    console.print(table)
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False)
