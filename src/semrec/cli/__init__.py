"""The ``semrec`` command line: parse, validate, call the library, format. No model logic here.

One module per command group: :mod:`~semrec.cli.data` (``data fetch``), :mod:`~semrec.cli.fit`,
:mod:`~semrec.cli.recommend`, :mod:`~semrec.cli.evaluate` (``evaluate``, ``evaluate-diversity``,
``evaluate-handover``) and :mod:`~semrec.cli.serve` (``serve``, ``retrain``, ``export``, ``items``);
:mod:`~semrec.cli.common` holds the shared options, data loading and the error policy.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
from rich.logging import RichHandler

from semrec.cli import data, evaluate, fit, recommend, serve
from semrec.cli.common import DEBUG_KEY, SemrecGroup, err_console

# The CLI is the process edge: keep hub libraries quiet and offline unless the user says otherwise.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

app = typer.Typer(
    cls=SemrecGroup,
    help="semrec: recommendations from language-model text and behaviour.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress (INFO); print the traceback of internal errors.")
    ] = False,
) -> None:
    ctx.meta[DEBUG_KEY] = verbose
    handler = RichHandler(console=err_console, show_path=False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s", handlers=[handler])
    for noisy in ("transformers", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


app.add_typer(data.app, name="data")
app.command()(fit.fit)
app.command()(recommend.recommend)
app.command()(evaluate.evaluate)
app.command("evaluate-diversity")(evaluate.evaluate_diversity)
app.command()(serve.serve)
app.command()(serve.retrain)
app.add_typer(serve.items_app, name="items")
app.command()(serve.export)
app.command("evaluate-handover")(evaluate.evaluate_handover)


def main() -> None:  # pragma: no cover - console entry point
    app()


__all__ = ["app", "main"]
