"""Data splits of the evaluation protocols (semrec PROTOCOL.md).

P1 (warm users, per-user temporal hold-out): sort each user's interactions by
(timestamp, item_id); the last ``max(1, floor(0.2 n))`` go to test, the rest to train.
Hyper-parameters are tuned only on a validation slice carved the same way from train
(``max(1, floor(0.1 n_train))``).

P2 (cold users, few-shot onboarding): 20% of users (``default_rng(42)``, 188 of ML-100K's 943)
leave train entirely; each reveals its first ``n`` interactions by time (5 in the protocol) and
the rest is test. P3 (cold items): 20% of items (336) leave train; every (user, cold item)
interaction is test and users rank the cold items only.

P4 (leave-last-out, the SASRec protocol): items with fewer than 5 interactions dropped; each user's
last interaction by (timestamp, item id) is test, the second to last validation (``P4-validation``).

``MSR`` (Microsoft Recommenders' ML-100K table): ``python_stratified_split(ratio=0.75, seed=42)``:
``np.random.seed(42)`` draws one uniform key per row in the data set's row order; within each user
rows sorted by key with ``rank / count <= 0.75`` go to train, the rest to test.

``random`` (data without timestamps, such as Book-Crossing): a seeded random per-user 80/20
hold-out of users with at least 5 interactions; sparser users stay in train whole and are not
evaluated (``random-validation`` carves the tuning slice from its train the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from semrec.errors import UsageError


@dataclass(frozen=True)
class Split:
    """A train/test split of an interaction table (rows keep all their columns).

    Attributes:
        onboarding: P2 only: the interactions each cold user reveals at request time (their history).
        candidates: P3 only: the item ids that may be ranked (the cold items); ``None``: all items.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    onboarding: pd.DataFrame | None = None
    candidates: frozenset[str] | None = None
    items: frozenset[str] | None = None
    """P4 only: the catalogue the protocol keeps (items with >= 5 interactions); ``None``: every item."""
    holdout: str = "temporal"
    """How test rows were held out (``temporal`` or ``random``): what the fitted pipeline is told
    (:attr:`semrec.data.tables.Dataset.holdout`), so its own validation slice is carved the same way."""
    notes: tuple[str, ...] = ()
    """What the split removed or left unevaluated, in words (printed under the evaluation table)."""


def id_order(value: object) -> tuple[int, int, str]:
    """Sort key for external ids: numeric order for integer ids (MovieLens), then string order."""
    text = str(value)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _item_sort_key(item_ids: pd.Series) -> pd.Series:
    """Numeric order when every id is an integer (MovieLens), else string order."""
    numeric = pd.to_numeric(item_ids, errors="coerce")
    return numeric if numeric.notna().all() else item_ids


def _sorted(interactions: pd.DataFrame, fraction: float, by: list[str]) -> pd.DataFrame:
    """``interactions`` with an ``_item_key`` column (numeric ids in numeric order), sorted stably by ``by``.

    Raises:
        ValueError: ``fraction`` outside (0, 1).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    frame = interactions.assign(_item_key=_item_sort_key(interactions["item_id"]))
    return frame.sort_values(by, kind="stable")


def _held_out(frame: pd.DataFrame, fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``frame`` (grouped by user in its order): the user's row count, the row's place
    among them, and how many of them are held out (``max(1, floor(fraction * n))``)."""
    sizes = frame.groupby("user_id", sort=False)["item_id"].transform("size").to_numpy()
    position = frame.groupby("user_id", sort=False).cumcount().to_numpy()
    return sizes, position, np.maximum(1, np.floor(fraction * sizes).astype(np.int64))


def temporal_holdout(interactions: pd.DataFrame, fraction: float, name: str = "holdout") -> Split:
    """Per-user temporal hold-out: each user's last ``max(1, floor(fraction * n))`` interactions.

    Args:
        interactions: Columns ``user_id``, ``item_id``, ``timestamp`` at least.
        fraction: Share of each user's interactions held out, in (0, 1).

    Returns:
        A :class:`Split`; ``train`` and ``test`` partition the rows, each sorted by
        (user, timestamp, item).

    Raises:
        ValueError: ``fraction`` outside (0, 1).
    """
    frame = _sorted(interactions, fraction, ["user_id", "timestamp", "_item_key"])
    sizes, position, n_test = _held_out(frame, fraction)
    is_test = position >= sizes - n_test
    frame = frame.drop(columns="_item_key")
    return Split(name, frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True))


def split_p1(interactions: pd.DataFrame) -> Split:
    """P1: warm users, temporal 80/20 per user (80,367 / 19,633 rows on ML-100K)."""
    split = temporal_holdout(interactions, 0.2, "P1")
    return split


def split_p1_validation(interactions: pd.DataFrame) -> Split:
    """The P1 validation slice: P1's train, split again with fraction 0.1 (for tuning only)."""
    train = split_p1(interactions).train
    return temporal_holdout(train, 0.1, "P1-validation")


def _sample(ids: pd.Series, fraction: float, seed: int = 42) -> set[str]:
    ordered = sorted(ids.unique(), key=lambda v: (0, int(v), "") if str(v).isdigit() else (1, 0, str(v)))
    size = int(fraction * len(ordered))  # floor: 188 of 943 users, 336 of 1,682 items
    return set(np.random.default_rng(seed).choice(np.array(ordered, dtype=object), size, replace=False).tolist())


def split_p2(interactions: pd.DataFrame, n_onboarding: int = 5) -> Split:
    """P2: cold users reveal their first ``n_onboarding`` interactions; the rest is test.

    Train is P1's train without any cold user. Cold users with nothing left after onboarding are
    not evaluated (none on ML-100K, where every user has >= 20 ratings).
    """
    cold = _sample(interactions["user_id"], 0.2)
    train = split_p1(interactions).train
    frame = interactions[interactions["user_id"].isin(cold)]
    frame = frame.assign(_item_key=_item_sort_key(frame["item_id"]))
    frame = frame.sort_values(["user_id", "timestamp", "_item_key"], kind="stable").drop(columns="_item_key")
    position = frame.groupby("user_id", sort=False).cumcount().to_numpy()
    return Split(
        f"P2 (n={n_onboarding})",
        train[~train["user_id"].isin(cold)].reset_index(drop=True),
        frame[position >= n_onboarding].reset_index(drop=True),
        frame[position < n_onboarding].reset_index(drop=True),
    )


def split_p3(interactions: pd.DataFrame) -> Split:
    """P3: cold items leave train; every interaction with a cold item is test; rank cold items only."""
    cold = _sample(interactions["item_id"], 0.2)
    train = split_p1(interactions).train
    return Split(
        "P3",
        train[~train["item_id"].isin(cold)].reset_index(drop=True),
        interactions[interactions["item_id"].isin(cold)].reset_index(drop=True),
        None,
        frozenset(cold),
    )


def random_holdout(
    interactions: pd.DataFrame, fraction: float = 0.2, min_interactions: int = 5, seed: int = 42, name: str = "random"
) -> Split:
    """Seeded random per-user hold-out, for data without timestamps (PROTOCOL: Book-Crossing).

    Rows are put in a fixed order (user, item id, timestamp), given a ``default_rng(seed)``
    uniform key each, and sorted by key within each user; a user with at least
    ``min_interactions`` rows sends the first ``max(1, floor(fraction * n))`` to test. Users with
    fewer stay in train whole (they are trained on, not evaluated).

    Raises:
        ValueError: ``fraction`` outside (0, 1).
    """
    frame = _sorted(interactions, fraction, ["user_id", "_item_key", "timestamp"])
    frame = frame.assign(_key=np.random.default_rng(seed).random(len(frame)))
    frame = frame.sort_values(["user_id", "_key"], kind="stable").drop(columns=["_item_key", "_key"])
    sizes, position, n_test = _held_out(frame, fraction)
    is_test = (position < n_test) & (sizes >= min_interactions)
    return Split(name, frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True), holdout="random")


def split_random(interactions: pd.DataFrame) -> Split:
    """``random``: seeded per-user 80/20 hold-out of users with >= 5 interactions (no timestamps needed)."""
    return random_holdout(interactions, 0.2, 5, 42, "random")


def split_random_validation(interactions: pd.DataFrame) -> Split:
    """The ``random`` validation slice: ``random``'s train, split again the same way (for tuning only)."""
    return random_holdout(split_random(interactions).train, 0.2, 5, 42, "random-validation")


def leave_last_out(interactions: pd.DataFrame, n_out: int = 1, min_item: int = 5, name: str = "P4") -> Split:
    """Leave-last-out (SASRec protocol): drop items with fewer than ``min_item`` interactions (one
    pass, as in the SASRec data), sort each user's rows by (timestamp, item id: numeric order for
    integer ids, else string order, e.g. ``"Title (Year)"`` on ML-1M), hold out the last ``n_out``
    rows' first one: the last row for ``n_out=1`` (test), the second to last for ``n_out=2``
    (validation; the last row is then dropped). Users with fewer than ``n_out + 1`` rows stay in train
    whole and are not evaluated.

    Raises:
        ValueError: ``n_out`` below 1.
    """
    if n_out < 1:
        raise ValueError(f"n_out must be >= 1, got {n_out}")
    counts = interactions["item_id"].value_counts()
    kept = counts.index[counts >= min_item]
    frame = interactions[interactions["item_id"].isin(kept)]
    frame = frame.assign(_item_key=_item_sort_key(frame["item_id"]))
    frame = frame.sort_values(["user_id", "timestamp", "_item_key"], kind="stable").drop(columns="_item_key")
    sizes = frame.groupby("user_id", sort=False)["item_id"].transform("size").to_numpy()
    back = sizes - frame.groupby("user_id", sort=False).cumcount().to_numpy()  # 1 for the last row
    evaluated = sizes > n_out
    is_test = evaluated & (back == n_out)
    is_train = ~evaluated | (back > n_out)
    train, test = frame[is_train].reset_index(drop=True), frame[is_test].reset_index(drop=True)
    n_short = int(frame.loc[~evaluated, "user_id"].nunique())
    note = (
        f"{name}: {len(counts) - len(kept):,} items with fewer than {min_item} interactions dropped "
        f"({len(interactions) - len(frame):,} rows); {n_short:,} users with {n_out} or fewer rows kept in train, "
        "not evaluated"
    )
    return Split(name, train, test, items=frozenset(str(v) for v in kept), notes=(note,))


def split_p4(interactions: pd.DataFrame) -> Split:
    """P4: leave-last-out; the last interaction of each user is test (ML-1M: 6,040 users, 3,416 items)."""
    return leave_last_out(interactions, 1, 5, "P4")


def split_p4_validation(interactions: pd.DataFrame) -> Split:
    """The P4 validation slice: the second-to-last interaction is test, the last one is not seen."""
    return leave_last_out(interactions, 2, 5, "P4-validation")


def stratified_random(interactions: pd.DataFrame, ratio: float = 0.75, seed: int = 42, name: str = "MSR") -> Split:
    """Microsoft Recommenders' ``python_stratified_split`` (``recommenders.datasets.python_splitters``).

    ``np.random.seed(seed)``; one ``np.random.rand`` key per row in the table's row order; rows sorted
    by (user, key); a row whose ``rank / count`` within its user is ``<= ratio`` is train, the rest test.

    Raises:
        ValueError: ``ratio`` outside (0, 1).
    """
    if not 0 < ratio < 1:
        raise ValueError(f"ratio must be in (0, 1), got {ratio}")
    keys = np.random.RandomState(seed).rand(len(interactions))  # the legacy global generator's stream
    frame = interactions.assign(_key=keys).sort_values(["user_id", "_key"], kind="stable")
    grouped = frame.groupby("user_id", sort=False)
    share = (grouped.cumcount().to_numpy() + 1) / grouped["item_id"].transform("size").to_numpy()
    frame = frame.drop(columns="_key")
    is_train = share <= ratio
    train, test = frame[is_train].reset_index(drop=True), frame[~is_train].reset_index(drop=True)
    return Split(name, train, test, holdout="random")


def split_msr(interactions: pd.DataFrame) -> Split:
    """``MSR``: Microsoft Recommenders' stratified random 75/25 per user, seed 42 (ML-100K: 74,646 / 25,354)."""
    return stratified_random(interactions, 0.75, 42, "MSR")


def split_msr_validation(interactions: pd.DataFrame) -> Split:
    """The ``MSR`` validation slice: ``MSR``'s train split again the same way (tuning only)."""
    return stratified_random(split_msr(interactions).train, 0.75, 42, "MSR-validation")


PUBLISHED: dict[tuple[str, str], tuple[tuple[str, float, float, str], ...]] = {
    ("P4", "movielens-1m"): (
        ("SASRec (BCE, 1 negative)", 0.1259, 0.2392, "HR@10"),
        ("gSASRec (256 negatives, gBCE)", 0.1726, 0.3003, "HR@10"),
        ("uSASRec", 0.1772, 0.3133, "HR@10"),
        ("HSTU (reported)", 0.172, 0.3097, "HR@10"),
        ("FuXi-alpha (recalculated)", 0.1813, 0.3164, "HR@10"),
    ),
    ("MSR", "movielens-100k"): (
        ("BiVAE", 0.475, 0.219, "Recall@10"),
        ("BPR", 0.442, 0.213, "Recall@10"),
        ("LightGCN", 0.420, 0.144, "Recall@10"),
        ("SAR", 0.382, 0.176, "Recall@10"),
    ),
}
"""(protocol, data set) -> published rows ``(model, NDCG@10, second metric, its name)``: P4 from the
authors' repositories, MSR from Microsoft Recommenders' ML-100K benchmark table (not rerun here)."""


PROTOCOLS: dict[str, Callable[[pd.DataFrame], Split]] = {
    "P1": split_p1,
    "P1-validation": split_p1_validation,
    "P2": split_p2,
    "P3": split_p3,
    "P4": split_p4,
    "P4-validation": split_p4_validation,
    "MSR": split_msr,
    "MSR-validation": split_msr_validation,
    "random": split_random,
    "random-validation": split_random_validation,
}
"""Protocol name -> split function."""


def check_protocol(name: str) -> str:
    """``name`` if it is in :data:`PROTOCOLS`.

    Raises:
        UsageError: An unknown name (the message lists the known ones).
    """
    if name not in PROTOCOLS:
        raise UsageError(f"unknown protocol {name!r}; choose from {', '.join(PROTOCOLS)}")
    return name
