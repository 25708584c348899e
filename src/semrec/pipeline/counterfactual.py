"""Counterfactual effects of a request's history items on its recommended items.

An explanation may cite a history item only when the item raised the recommendation in the very
pipeline that served it: for each of the (at most ``MAX_HISTORY`` most recent) distinct history
items ``h``, the request is scored again without ``h`` through the same sources, combinators and
intent ordering, and ``h``'s effect on a recommended item ``i`` is how many places ``i`` falls
(its rank among the items the request may receive) when ``h`` is removed. Ranks, not raw scores,
are compared because a shorter history can be answered by another source (a one-item history
without its item is a new user) whose scores have another scale.

References:
    D. Martens and F. Provost. Explaining Data-Driven Document Classifications. MIS Quarterly
    38(1), 2014 (an evidence counterfactual: the removal that changes the decision).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from semrec.pipeline.request import Request

MAX_HISTORY = 30
"""Distinct history items (the most recent) whose effects are measured per explained request."""


def ranks(scores: np.ndarray, blocked: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``(len(items),) int64`` 0-based rank of each item among the unblocked items (ties share the best rank)."""
    free = np.where(blocked | np.isnan(scores), -np.inf, scores)
    return np.array([int(np.sum(free > free[i])) for i in items], dtype=np.int64)


def history_effects(
    score: Callable[[Sequence[Request]], np.ndarray],
    request: Request,
    served: np.ndarray,
    items: np.ndarray,
    blocked: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out effects of ``request``'s history items on ``items``.

    Args:
        score: The pipeline's final scores of requests, ``(n, n_items)`` (the same function that
            ranked ``request``).
        request: The served request.
        served: ``(n_items,)`` its final scores (what ``score`` gives for it).
        items: ``(k,) int64`` positions of its recommended items.
        blocked: ``(n_items,) bool`` the request's blocked items (kept for every variant).

    Returns:
        ``(history, effects)``: ``(h,) int64`` distinct history positions (most recent first) and
        ``(h, k) int64`` places each recommended item falls without that history item
        (positive: the history item raised it).
    """
    order = request.history[::-1]
    _, first = np.unique(order, return_index=True)
    history = order[np.sort(first)][:MAX_HISTORY]
    if not len(history) or not len(items):
        return history, np.zeros((len(history), len(items)), dtype=np.int64)
    variants = [replace(request, history=request.history[request.history != h], notes=[]) for h in history]
    base = ranks(served, blocked, items)
    effects = np.stack([ranks(row, blocked, items) - base for row in score(variants)])
    return history, effects
