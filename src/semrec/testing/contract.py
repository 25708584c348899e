"""The pipeline contract: what every configuration of :class:`~semrec.pipeline.Recommender` must do.

In the spirit of LensKit's ``lenskit.testing`` component kit: a new scorer or source is checked
by running :func:`check_pipeline` on a model fitted with it. Every route (known user, short
history, text only, text + history, attributes only, nothing) must answer with ``k`` items, honour
exclusions, filters and candidate lists, give identical lists after save/load, and keep working
after an item is added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from semrec.data.tables import split_list
from semrec.pipeline import Recommender
from semrec.types import Query

ROUTES: dict[str, dict[str, Any]] = {
    "known user": {"user_id": "bob"},
    "short history": {"history": ["toy"]},
    "text only": {"text": "a haunted hotel horror"},
    "text and history": {"history": ["toy"], "text": "a love story"},
    "attributes only": {"attributes": {"likes": "cartoons"}},
    "nothing": {},
}
"""Route name -> query fields, over the ``catalogue`` test data (items toy ... shining, users ann ... eve)."""


def _eligible(model: Recommender, query: Query) -> np.ndarray:
    """``(n_items,) bool`` items the query may receive (computed independently of the pipeline)."""
    catalogue = model.catalogue
    ok = np.ones(len(catalogue), dtype=bool)
    seen = list(query.history)
    user = None if query.user_id is None else model.users.vocab.get(query.user_id)
    if user is not None:
        seen += catalogue.vocab.ids[model.users.histories[user]].tolist()
    for item_id in (seen if query.exclude_seen else []) + list(query.exclude):
        if item_id in catalogue.vocab:
            ok[catalogue.vocab.get(item_id)] = False
    for name, wanted in query.filters.items():
        ok &= np.array([bool(set(map(str, wanted)) & set(split_list(v))) for v in catalogue.items[name]])
    if query.candidates is not None:
        ok &= np.isin(catalogue.vocab.ids, list(query.candidates))
    return ok


def check_pipeline(model: Recommender, directory: Path, k: int = 3) -> None:
    """Assert the pipeline contract on ``model`` (fitted on the ``catalogue`` test data).

    Raises:
        AssertionError: Naming the route and the broken promise.
    """
    variants: dict[str, dict[str, Any]] = {
        "plain": {},
        "excluded": {"exclude": ["alien", "titanic"]},
        "filtered": {"filters": {"genres": ["Horror"]}},
        "candidates": {"candidates": ["scream", "shining", "notebook", "nope"]},
    }
    loaded = Recommender.load(model.save(directory / "contract"))
    for route, fields in ROUTES.items():
        for variant, extra in variants.items():
            query = Query(k=k, **fields, **extra)
            result = model.recommend(query)
            eligible = _eligible(model, query)
            ids = result.item_ids.tolist()
            where = f"{route} / {variant} ({result.source})"
            assert len(ids) == min(k, int(eligible.sum())), (
                f"{where}: {len(ids)} items, expected {min(k, eligible.sum())}"
            )
            assert len(set(ids)) == len(ids), f"{where}: duplicates {ids}"
            assert all(eligible[model.catalogue.vocab.get(i)] for i in ids), f"{where}: ineligible item in {ids}"
            assert np.all(np.diff(result.scores) <= 1e-6), f"{where}: scores not in descending order"
            again = loaded.recommend(query)
            assert again.item_ids.tolist() == ids, f"{where}: save/load changed {ids} -> {again.item_ids.tolist()}"
            assert np.allclose(again.scores, result.scores, atol=1e-5), f"{where}: save/load changed the scores"
    model.upsert_item("moon", {"title": "Moon", "genres": "Sci-Fi|Drama", "overview": "a lonely astronaut on the moon"})
    for route, fields in ROUTES.items():
        result = model.recommend(Query(k=len(model.catalogue), exclude_seen=False, **fields))
        assert "moon" in result.item_ids.tolist(), f"{route}: an item added after fit is never ranked"
    found = model.recommend(Query(text="a lonely astronaut on the moon", k=1))
    assert found.item_ids.tolist() == ["moon"], f"text query does not find the added item: {found.item_ids.tolist()}"
