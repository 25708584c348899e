"""The try-it page served by ``semrec serve`` at ``/`` (static files in the package, no build step).

The page (``semrec/serving/web/``: HTML, CSS and plain JavaScript) calls the service's own API,
``POST /recommend`` and ``POST /feedback``, so what a visitor sees is what every client gets. Three
small read-only helpers exist for it: ``GET /ui/config`` (catalogue size, scorer, a sample of
known user ids, which measurement reports are available), ``GET /ui/search?q=`` (items whose
title contains ``q``, to start a history) and ``GET /ui/reports/{handover|frontier}`` (the JSON
written by ``semrec evaluate-handover`` / ``evaluate-diversity``, found in ``reports_dir``; the
page draws them as SVG charts with a data table).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from semrec.serving.live import LiveRecommender

WEB = FilePath(__file__).with_name("web")
REPORTS = ("handover", "frontier")
SAMPLE_USERS = 20
SEARCH_LIMIT = 12


def add_web(app: FastAPI, live: LiveRecommender, reports_dir: str | None, read_access) -> None:
    """Mount the page at ``/`` and its helpers under ``/ui`` (reads follow ``read_access``)."""
    reports = FilePath(reports_dir) if reports_dir else None

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html")

    app.mount("/ui/static", StaticFiles(directory=WEB), name="ui-static")

    @app.get("/ui/config", dependencies=[Depends(read_access)])
    def config() -> dict[str, Any]:
        """What the page shows before the first request."""
        stats = live.stats()
        users = [u for u in live.model.users.vocab.ids[: SAMPLE_USERS * 2].tolist() if not u.startswith("erased:")]
        available = [name for name in REPORTS if reports is not None and (reports / f"{name}.json").is_file()]
        return {
            **stats,
            "n_users": len(live.model.users.vocab),
            "sample_users": users[:SAMPLE_USERS],
            "reports": available,
        }

    @app.get("/ui/search", dependencies=[Depends(read_access)])
    def search(q: Annotated[str, Query(min_length=1, max_length=200)]) -> list[dict[str, str]]:
        """Items whose title contains ``q`` (case-insensitive), most popular first; at most 12."""
        catalogue = live.model.catalogue
        folded = catalogue.derived("titles-folded")
        if folded is None:  # once per catalogue version
            folded = catalogue.derive(
                "titles-folded", [t.casefold() for t in catalogue.titles(catalogue.vocab.ids.tolist())]
            )
        needle = q.casefold()
        hits = [n for n, title in enumerate(folded) if needle in title and n not in catalogue.removed]
        counts = live.model.models.popularity.counts
        hits.sort(key=lambda n: -float(counts[n]) if n < len(counts) else 0.0)
        hits = hits[:SEARCH_LIMIT]
        ids = catalogue.vocab.ids[hits].tolist() if hits else []
        titles = catalogue.titles(ids) if ids else []
        return [{"item_id": i, "title": t} for i, t in zip(ids, titles)]

    @app.get("/ui/reports/{name}", dependencies=[Depends(read_access)])
    def report(name: str) -> dict[str, Any]:
        """A measurement report of the loaded model (``handover`` or ``frontier``)."""
        path = reports / f"{name}.json" if reports is not None and name in REPORTS else None
        if path is None or not path.is_file():
            raise HTTPException(404, f"no {name!r} report (semrec serve --reports DIR)")
        return json.loads(path.read_text())


HIDDEN_FIELDS = frozenset({"item_id", "title", "text"})
FIELD_CHARS = 120
FIELDS_CACHED = 50_000


def item_fields(catalogue, item_ids: list[str]) -> list[dict[str, str]]:
    """Short display attributes of each item (``genres``, ``year``, ``director`` ...): the
    catalogue's columns except id, title and text, values of at most 120 characters, missing
    values left out. Kept for the 50,000 most recently shown items of this catalogue version (a
    request reads the table only for items it has not shown lately)."""
    if not item_ids:
        return []
    cache = catalogue.derived("display-fields")
    if cache is None:
        cache = catalogue.derive("display-fields", OrderedDict())
    positions = catalogue.vocab.index(item_ids).tolist()
    missing = [p for p in dict.fromkeys(positions) if p not in cache]
    if missing:
        rows = catalogue.items.iloc[missing]
        columns = [c for c in rows.columns if c not in HIDDEN_FIELDS]
        for position, row in zip(missing, rows[columns].itertuples(index=False)):
            fields = {}
            for column, value in zip(columns, row):
                if value is None or value != value:  # None / NaN
                    continue
                text = str(value)
                if text and len(text) <= FIELD_CHARS:
                    fields[column] = text
            cache[position] = fields
        while len(cache) > FIELDS_CACHED:
            cache.popitem(last=False)
    return [dict(cache[p]) for p in positions]
