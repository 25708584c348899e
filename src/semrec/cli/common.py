"""What every command shares: consoles, error handling, option types, option parsing and data loading.

Error policy: semrec's own errors (:class:`~semrec.errors.SemrecError`: bad data, bad options,
unknown ids), invalid option values caught by pydantic (inside :func:`user_options`) and typer's
own usage errors are the user's to fix: one ``error:`` line, exit status 2. Anything else is a bug
in semrec: one line saying so with the exception type and message, exit status 1; ``-v`` or
``SEMREC_DEBUG=1`` prints the traceback too.
"""

from __future__ import annotations

import codecs
import functools
import inspect
import json
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from semrec.errors import SemrecError, UsageError
from semrec.text.encoders import EncoderConfig

if TYPE_CHECKING:  # the click that typer vendors: its groups run commands with this Context, not typer.Context
    from typer._click.core import Context as ClickContext

console = Console()
err_console = Console(stderr=True)

DEBUG_KEY = "semrec.debug"
"""``ctx.meta`` key: print tracebacks of internal errors (set by ``-v``)."""

USER_ERROR = 2
BUG = 1


def print_notes(notes: Iterable[str]) -> None:
    """Print each note (what loading, splitting or fitting dropped or chose) as ``note: ...`` on stdout."""
    for note in notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


def debug_requested(ctx: ClickContext | None) -> bool:
    """``-v`` was given, or the environment has ``SEMREC_DEBUG`` set to anything but ``""``/``0``/``false``."""
    flag = os.environ.get("SEMREC_DEBUG", "").strip().lower()
    return bool(ctx is not None and ctx.meta.get(DEBUG_KEY)) or flag not in ("", "0", "false", "no")


def report_user_error(exc: SemrecError) -> None:
    """Print the first line of ``exc`` as one ``error:`` line."""
    message = str(exc).strip()
    first = message.splitlines()[0] if message else type(exc).__name__
    err_console.print(f"[bold red]error:[/] {escape(first)}", highlight=False, soft_wrap=True, emoji=False)


def report_bug(exc: Exception, debug: bool) -> None:
    """Say that ``exc`` is a bug in semrec (type and message); the traceback when ``debug``."""
    if debug:
        text = "".join(traceback.format_exception(exc))
        err_console.print(text, markup=False, highlight=False, soft_wrap=True, emoji=False, end="")
    message = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    err_console.print(
        f"internal error (a bug in semrec, not in your input): {detail}",
        markup=False,
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )
    if not debug:
        err_console.print(
            "rerun with -v (or SEMREC_DEBUG=1) for the traceback, and please report it",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


class SemrecGroup(TyperGroup):
    """The root command group: applies the error policy (module docstring) to every command."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own exits and usage errors keep typer's handling
        except SemrecError as exc:
            report_user_error(exc)
            raise typer.Exit(USER_ERROR) from exc
        except Exception as exc:
            report_bug(exc, debug_requested(ctx))
            raise typer.Exit(BUG) from exc


@contextmanager
def user_options() -> Iterator[None]:
    """Turn a pydantic :class:`ValidationError` raised while building configs from options into a :class:`UsageError`.

    Raises:
        UsageError: An option value failed validation; the message names the field and the problem.
    """
    try:
        yield
    except ValidationError as exc:
        raise UsageError(pydantic_message(exc)) from exc


def pydantic_message(exc: ValidationError) -> str:
    """``field: problem; ...`` for every error of ``exc`` (an unknown field lists the known ones)."""
    parts = []
    for error in exc.errors():
        where = ".".join(map(str, error["loc"])) or "value"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
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


def check_scorer(name: str) -> str:
    """``name`` when it is a registered scorer.

    Raises:
        UsageError: Unknown name; the message lists the known ones.
    """
    from semrec.scorers import SCORERS

    if name not in SCORERS:
        raise UsageError(f"unknown scorer {name!r}; choose from {', '.join(SCORERS)}")
    return name


def check_scorer_params(name: str, params: dict[str, object]) -> None:
    """Validate hyper-parameters against the scorer's ``Config`` before any heavy work.

    Raises:
        UsageError: A parameter is unknown or out of range.
    """
    from semrec.scorers import scorer_class

    with user_options():
        scorer_class(name).Config.model_validate(params)


def replace(model: Any, **changes: Any) -> Any:
    """A validated copy of the pydantic ``model`` with ``changes`` (models are frozen).

    Fields the model was not given stay unset (:func:`semrec.capacity.plan` tells a chosen scorer
    from the default by that)."""
    return type(model).model_validate({**model.model_dump(exclude_unset=True), **changes})


def parse_mapping(pairs: list[str] | None, option: str, form: str = "FIELD=COLUMN") -> dict[str, str]:
    """``["a=b", ...]`` -> ``{"a": "b", ...}``, both sides stripped.

    Raises:
        UsageError: A pair has no ``=`` or an empty side.
    """
    out = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise UsageError(f"{option} expects {form}, got {pair!r}")
        out[field.strip()] = column.strip()
    return out


def parse_params(pairs: list[str] | None) -> dict[str, object]:
    """``--param KEY=VALUE`` pairs; a VALUE that parses as JSON (``200``, ``true``, ``[1, 2]``) is decoded."""
    out: dict[str, object] = {}
    for key, value in parse_mapping(pairs, "--param", "KEY=VALUE").items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def parse_list(value: str | None) -> list[str]:
    """A comma-separated option -> its non-empty, stripped parts."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_numbers(value: str, option: str, kind: type[int | float]) -> list:
    """A comma-separated list of numbers.

    Raises:
        UsageError: A part is not a number of ``kind``.
    """
    out = []
    for part in parse_list(value):
        try:
            out.append(kind(part))
        except ValueError:
            raise UsageError(f"{option} expects comma-separated {kind.__name__} values, got {part!r}") from None
    return out


@dataclass(frozen=True)
class DataOptions:
    """Where a command's data comes from: ``--dataset NAME``, or item / interaction / user files and
    their ``FIELD=COLUMN`` mappings (the options :func:`data_options` adds)."""

    dataset: str | None = None
    items: Path | None = None
    interactions: Path | None = None
    users: Path | None = None
    item_col: list[str] | None = None
    interaction_col: list[str] | None = None
    user_col: list[str] | None = None
    on_duplicate: str | None = None
    unknown: str | None = None
    ratings: str | None = None

    def lenient(self) -> dict[str, Any]:
        """The dirty-data options given (``on_duplicate``, ``unknown``, ``ratings``), for the loaders.

        Raises:
            UsageError: A value outside its choices.
        """
        return lenient_options(self.on_duplicate, self.unknown, self.ratings)


def lenient_options(on_duplicate: str | None, unknown: str | None, ratings: str | None) -> dict[str, Any]:
    """``{option: value}`` of the dirty-data options given, each checked against its choices.

    Raises:
        UsageError: A value outside its choices.
    """
    out: dict[str, Any] = {}
    for name, value, choices in (
        ("on_duplicate", on_duplicate, ("error", "first")),
        ("unknown", unknown, ("error", "skip")),
        ("ratings", ratings, ("all", "explicit")),
    ):
        if value is None:
            continue
        if value not in choices:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} must be one of {', '.join(choices)}; got {value!r}")
        out[name] = value
    return out


NO_DATA = DataOptions()
"""No data option given: the default of a command's ``source`` parameter (:func:`data_options` fills it in)."""


def data_options(*, users: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the command's ``source: DataOptions`` parameter becomes the data options, in its place.

    The command line gets ``--dataset``, ``--items``, ``--interactions``, ``--item-col`` and
    ``--interaction-col`` (and ``--users``, ``--user-col`` with ``users``); the command receives them as
    one :class:`DataOptions`.
    """
    names = [f.name for f in fields(DataOptions) if users or f.name not in ("users", "user_col")]
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    options = [inspect.Parameter(name, kind, default=None, annotation=_DATA_OPTION_TYPES[name]) for name in names]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        parameters = []
        for parameter in signature.parameters.values():
            parameters += options if parameter.name == "source" else [parameter]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            source = DataOptions(**{name: kwargs.pop(name) for name in names})
            return command(source=source, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


def load_dataset(
    source: DataOptions,
    timeout: float = 5.0,
    encoding: str = "utf-8",
    sep: str | None = None,
    allow_no_interactions: bool = False,
    escapechar: str | None = None,
):
    """The data set ``source`` names, and the ``text``/``intent`` config fields it recommends (files: defaults).

    Raises:
        UsageError: Both or neither of ``--dataset`` and ``--items``/``--interactions``; an unknown ``encoding``.
        DataFormatError: A file is malformed (see :mod:`semrec.data.tables`).
    """
    from semrec.data.registry import dataset_entry
    from semrec.data.tables import Dataset, load_items

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"--encoding {encoding!r} is not a known text encoding (utf-8, latin-1, cp1252 ...)") from None
    items, interactions = source.items, source.interactions
    if source.dataset and (items or interactions):
        raise UsageError("give either --dataset or --items/--interactions, not both")
    if source.dataset:
        entry = dataset_entry(source.dataset)
        if source.lenient() and not entry.lenient:
            raise UsageError(
                f"--on-duplicate / --unknown / --ratings do not apply to {source.dataset} (its files are clean)"
            )
        return entry.load(None, timeout, **source.lenient()), entry
    item_columns = parse_mapping(source.item_col, "--item-col")
    if items and not interactions and allow_no_interactions:
        on_duplicate: Any = source.lenient().get("on_duplicate", "error")
        catalogue = load_items(
            items, item_columns, encoding=encoding, sep=sep, escapechar=escapechar, on_duplicate=on_duplicate
        )
        return Dataset.text_only(catalogue, name=Path(items).stem), None
    if not (items and interactions):
        raise UsageError("give --dataset NAME, or --items FILE and --interactions FILE")
    if source.ratings is not None:
        raise UsageError("--ratings applies to a named data set with implicit 0 ratings (book-crossing)")
    loaded = Dataset.from_files(
        items,
        interactions,
        source.users,
        item_columns=item_columns,
        interaction_columns=parse_mapping(source.interaction_col, "--interaction-col"),
        user_columns=parse_mapping(source.user_col, "--user-col"),
        name=Path(interactions).stem,
        encoding=encoding,
        sep=sep,
        escapechar=escapechar,
        **source.lenient(),
    )
    return loaded, None


def dataset_config(entry, text_template: str | None) -> dict[str, Any]:
    """``text``/``intent`` fields of a RecommenderConfig: the named data set's (``entry``), else the defaults;
    ``text_template`` overrides the template (call inside :func:`user_options`: it is validated)."""
    from semrec.text import TextTemplateConfig

    return (
        entry.config_fields(text_template)
        if entry is not None
        else {"text": TextTemplateConfig(template=text_template)}
    )


def store_url(model: Path, db: str | None) -> str:
    """``db``, or a SQLite file next to the artifact folder (``<model>.db``)."""
    return db or f"sqlite:///{model.resolve().parent / (model.name + '.db')}"


DatasetOpt = Annotated[str | None, typer.Option(help="A named data set (e.g. movielens-100k); fetched once.")]
NamedDatasetOpt = Annotated[str, typer.Option(help="A named data set (e.g. movielens-100k); fetched once.")]
ItemsOpt = Annotated[Path | None, typer.Option(help="Item table (CSV/TSV/Parquet/JSONL) with item_id and text.")]
InterOpt = Annotated[
    Path | None, typer.Option(help="Interaction table with user_id, item_id [, value, timestamp, event].")
]
UsersOpt = Annotated[Path | None, typer.Option(help="Optional user table with user_id.")]
ItemColOpt = Annotated[list[str] | None, typer.Option("--item-col", help="FIELD=COLUMN mapping for the item file.")]
InterColOpt = Annotated[
    list[str] | None, typer.Option("--interaction-col", help="FIELD=COLUMN for the interaction file.")
]
UserColOpt = Annotated[list[str] | None, typer.Option("--user-col", help="FIELD=COLUMN for the user file.")]
OnDuplicateOpt = Annotated[
    str | None,
    typer.Option(
        help="A repeated item or user id: error (default) or first (keep the first row; counted).",
    ),
]
UnknownOpt = Annotated[
    str | None,
    typer.Option(
        help="Interactions naming an item or user the tables lack: error (default) or skip (counted).",
    ),
]
RatingsOpt = Annotated[
    str | None,
    typer.Option(
        help="Book-Crossing: all (default: every rating, 0 = implicit, is an interaction) or explicit (1-10 only).",
    ),
]
EncoderOpt = Annotated[str, typer.Option(help="Packaged model name, sentence-transformers name or path, or 'hashing'.")]
PoolingOpt = Annotated[
    str, typer.Option(help="Token pooling of a sentence-transformers model: model (its own), mean, max or cls.")
]
PcaOpt = Annotated[
    int | None,
    typer.Option(help="Reduce text embeddings to this many principal components (PCA on the item embeddings)."),
]
RayOpt = Annotated[
    str | None,
    typer.Option(
        help="Encode item texts (and, in evaluate, answer the queries) on Ray: 'local' starts Ray here, 'auto' "
        "joins this machine's cluster, or an address such as ray://head:10001. Needs pip install 'semrec[ray]'.",
        show_default=False,
    ),
]
TemplateOpt = Annotated[str | None, typer.Option(help="Item text template, e.g. '{title}. [{description}]'.")]
EncodingOpt = Annotated[str, typer.Option(help="Text encoding of the input files (utf-8, latin-1, cp1252 ...).")]
SepOpt = Annotated[str | None, typer.Option(help="Field separator of text files (default: from the suffix).")]
EscapeOpt = Annotated[
    str | None,
    typer.Option(help="Escape character of quotes inside fields, e.g. '\\' (default: doubled quotes, RFC 4180)."),
]
ModelOpt = Annotated[Path, typer.Option(help="Artifact folder written by `semrec fit`.")]
DEFAULT_ENCODER = EncoderConfig().model
"""Text encoder of ``fit`` and ``evaluate`` unless ``--encoder`` says otherwise (the library default)."""
_DATA_OPTION_TYPES = {
    "dataset": DatasetOpt,
    "items": ItemsOpt,
    "interactions": InterOpt,
    "users": UsersOpt,
    "item_col": ItemColOpt,
    "interaction_col": InterColOpt,
    "user_col": UserColOpt,
    "on_duplicate": OnDuplicateOpt,
    "unknown": UnknownOpt,
    "ratings": RatingsOpt,
}
"""The typer option of each :class:`DataOptions` field."""
