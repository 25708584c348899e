"""Item and user text: the template that turns table rows into the text an encoder reads."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

import pandas as pd
from pydantic import Field, PositiveInt, field_validator

from semrec.data.readers import is_missing
from semrec.data.tables import split_list
from semrec.errors import SemrecError
from semrec.frozen import FrozenConfig


class TemplateError(SemrecError, ValueError):
    """A text template is malformed or names a field the data lacks."""


_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_SPACES = re.compile(r"\s+")


class TextTemplateConfig(FrozenConfig):
    """How an item (or user) row becomes one text.

    ``template`` uses ``{field}`` placeholders; a segment in square brackets is dropped whole
    when any field inside it is missing, e.g. ``"{title} [({year})]. [Directed by {director}.]"``.
    Multi-valued cells (``"Comedy|Drama"``) are joined with ``", "``. ``None`` means every
    column except the id, as ``"column: value."``.
    """

    template: str | None = None
    """Template string, or ``None`` for all columns."""
    max_list_items: PositiveInt = 6
    """At most this many values of a multi-valued cell (e.g. the first 6 cast members)."""
    max_chars: int = Field(1500, ge=16)
    """Texts are cut to this many characters (the encoder truncates tokens anyway)."""

    @field_validator("template")
    @classmethod
    def _parsable(cls, template: str | None) -> str | None:
        if template is not None:
            try:
                _fields(_OPTIONAL.sub(lambda m: m.group(1), template))
            except ValueError as exc:
                raise ValueError(f"text template {template!r} is malformed: {exc}") from None
        return template


def _fields(fragment: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(fragment) if name]


def render_text(row: Mapping[str, object], config: TextTemplateConfig, id_field: str = "item_id") -> str:
    """Render one row with ``config.template``.

    Args:
        row: Column name -> cell value.
        config: The template.
        id_field: Column left out when ``template`` is ``None``.

    Returns:
        A single-line text, at most ``config.max_chars`` characters; ``""`` when nothing is known.

    Raises:
        TemplateError: A placeholder names a column the row does not have.
    """

    def value(name: str) -> str:
        if name not in row:
            raise TemplateError(
                f"text template names unknown field '{name}'; the items have: {', '.join(map(str, row))}"
            )
        cell = row[name]
        if is_missing(cell):
            return ""
        if isinstance(cell, float) and cell.is_integer():
            cell = int(cell)
        parts = split_list(cell)
        return ", ".join(parts[: config.max_list_items])

    if config.template is None:
        pieces = [f"{name}: {value(name)}." for name in row if name != id_field and value(name)]
        text = " ".join(pieces)
    else:

        def fill(fragment: str, optional: bool) -> str:
            filled = {name: value(name) for name in _fields(fragment)}
            if optional and any(not v for v in filled.values()):
                return ""
            return fragment.format(**filled)

        out, last = [], 0
        for match in _OPTIONAL.finditer(config.template):
            out.append(fill(config.template[last : match.start()], optional=False))
            out.append(fill(match.group(1), optional=True))
            last = match.end()
        out.append(fill(config.template[last:], optional=False))
        text = "".join(out)
    text = _SPACES.sub(" ", text).strip()
    return text[: config.max_chars]


def render_texts(frame: pd.DataFrame, config: TextTemplateConfig, id_field: str = "item_id") -> list[str]:
    """:func:`render_text` for every row of ``frame``, in row order."""
    return [render_text(row, config, id_field) for row in frame.to_dict(orient="records")]
