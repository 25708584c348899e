"""Counterfactual effects of a request's history items on its recommended items.

The request text's parts (the interests the intent stage read, the words an item shares with the
text) are tested the same way: the request is scored again with the part removed from its text,
and the part may be cited for an item only when the item falls without it.

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

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from semrec.pipeline.request import Request
from semrec.text.preprocess import tokenize

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


def without_part(text: str, part: str) -> str | None:
    """``text`` with the first occurrence of ``part`` removed (case-insensitive; unchanged when
    ``part`` does not occur); ``None`` when no content word is left (the request then has no text)."""
    rest = re.sub(re.escape(part), " ", text, count=1, flags=re.IGNORECASE)
    return rest if tokenize(rest) else None


def text_effects(
    score: Callable[[Sequence[Request]], np.ndarray],
    request: Request,
    served: np.ndarray,
    items: np.ndarray,
    blocked: np.ndarray,
    parts: Sequence[str],
) -> np.ndarray:
    """Places each of ``items`` falls when each of ``parts`` is removed from ``request``'s text.

    Args:
        score: The pipeline's final scores of requests, ``(n, n_items)`` (as :func:`history_effects`).
        request: The served request (with a text).
        served: ``(n_items,)`` its final scores.
        items: ``(k,) int64`` its recommended items.
        blocked: ``(n_items,) bool`` its blocked items (kept for every variant).
        parts: Substrings of the text (the interests read from it, words it shares with items).

    Returns:
        ``(len(parts), k) int64`` (positive: the part raised the item).
    """
    if request.text is None or not parts or not len(items):
        return np.zeros((len(parts), len(items)), dtype=np.int64)
    variants = [replace(request, text=without_part(request.text, part), notes=[]) for part in parts]
    base = ranks(served, blocked, items)
    return np.stack([ranks(row, blocked, items) - base for row in score(variants)])


def joint_text_effects(
    score: Callable[[Sequence[Request]], np.ndarray],
    request: Request,
    served: np.ndarray,
    items: np.ndarray,
    blocked: np.ndarray,
    part_sets: Sequence[Sequence[str]],
) -> np.ndarray:
    """``(k,) int64`` places each item falls when all of its ``part_sets`` entry is removed from the
    text at once (parts that each raise an item need not do so together)."""
    variants = []
    for parts in part_sets:
        text: str | None = request.text
        for part in parts:
            text = None if text is None else without_part(text, part)
        variants.append(replace(request, text=text, notes=[]))
    base = ranks(served, blocked, items)
    return np.array([ranks(row, blocked, items)[n] - base[n] for n, row in enumerate(score(variants))], dtype=np.int64)
