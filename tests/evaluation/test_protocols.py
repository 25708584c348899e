import pandas as pd

from semrec.evaluation.protocols import split_p1, split_p1_validation, temporal_holdout


def frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_p1_holds_out_last_fifth_by_time_with_item_tie_break():
    rows = [("a", str(i), 100 - i) for i in range(10)]  # newest is item 0
    rows += [("b", "10", 5), ("b", "9", 5), ("c", "1", 1)]  # b: tie on time -> item 10 sorts after 9
    split = split_p1(frame(rows))
    test = split.test.groupby("user_id")["item_id"].apply(sorted).to_dict()
    assert test == {"a": ["0", "1"], "b": ["10"], "c": ["1"]}  # max(1, floor(0.2 n))
    assert len(split.train) + len(split.test) == len(rows)
    assert set(split.train["user_id"]) == {"a", "b"}


def test_validation_is_carved_from_train_only():
    rows = [("a", str(i), i) for i in range(30)]
    val = split_p1_validation(frame(rows))
    assert val.test["item_id"].tolist() == ["22", "23"]  # 24 train rows -> last floor(2.4)=2
    assert int(val.train["timestamp"].max()) < 22


def test_fraction_bounds():
    import pytest

    with pytest.raises(ValueError):
        temporal_holdout(frame([("a", "1", 1)]), 1.0)


def test_p2_cold_users_reveal_their_first_n_and_leave_train():
    from semrec.evaluation.protocols import split_p2

    rows = [(str(u), str(i), 100 * u + i) for u in range(1, 11) for i in range(8)]
    split = split_p2(frame(rows), n_onboarding=3)
    cold = set(split.test["user_id"])
    assert len(cold) == 2 and not cold & set(split.train["user_id"])  # floor(0.2 * 10)
    assert split.onboarding.groupby("user_id")["item_id"].apply(list).to_dict() == {u: ["0", "1", "2"] for u in cold}
    assert split.test.groupby("user_id").size().to_dict() == {u: 5 for u in cold}


def test_p3_cold_items_leave_train_and_are_the_only_candidates():
    from semrec.evaluation.protocols import split_p3

    rows = [(str(u), str(i), 10 * u + i) for u in range(5) for i in range(10)]
    split = split_p3(frame(rows))
    assert len(split.candidates) == 2
    assert not set(split.train["item_id"]) & split.candidates
    assert set(split.test["item_id"]) == split.candidates and len(split.test) == 10


def test_p4_leaves_the_last_out_by_time_then_item_id_and_drops_items_under_five():
    from semrec.evaluation.protocols import split_p4, split_p4_validation

    rows = [(u, str(i), 10) for u in "abcde" for i in (1, 2)]  # items 1, 2: five users each
    rows += [("a", "3", 20), ("a", "4", 20)]  # a tie at the end: item 4 sorts after item 3
    rows += [("b", "3", 30), ("c", "3", 5), ("d", "3", 40), ("e", "3", 50)]  # item 3: five users
    split = split_p4(frame(rows))
    assert split.items == frozenset({"1", "2", "3"})  # item 4 has one interaction: dropped
    assert dict(zip(split.test["user_id"], split.test["item_id"])) == {"a": "3", "b": "3", "c": "2", "d": "3", "e": "3"}
    assert len(split.train) == 15 - 5 and "4" not in set(split.train["item_id"])
    assert split.notes == (
        "P4: 1 items with fewer than 5 interactions dropped (1 rows); 0 users with 1 or fewer rows kept in train, "
        "not evaluated",
    )
    lone = split_p4(frame([*rows, ("f", "1", 10)]))  # f has one row: train only
    assert "f" in set(lone.train["user_id"]) and "f" not in set(lone.test["user_id"])
    assert "; 1 users with 1 or fewer rows kept in train" in lone.notes[0]
    validation = split_p4_validation(frame(rows))
    assert dict(zip(validation.test["user_id"], validation.test["item_id"])) == {
        "a": "2",
        "b": "2",
        "c": "1",
        "d": "2",
        "e": "2",
    }
    assert len(validation.train) == 5  # the last interaction of each user is in neither part
    assert split.holdout == validation.holdout == "temporal"


def test_msr_is_microsoft_recommenders_stratified_split():
    """The reference implementation (recommenders.datasets.python_splitters._do_stratification),
    restated: global seed 42, one key per row in row order, sort by (user, key), rank/count <= 0.75."""
    import numpy as np

    from semrec.evaluation.protocols import split_msr

    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {"user_id": rng.integers(0, 30, 600).astype(str), "item_id": rng.integers(0, 99, 600).astype(str)}
    )
    data["timestamp"] = np.arange(600)
    np.random.seed(42)
    reference = data.assign(random=np.random.rand(len(data))).sort_values(["user_id", "random"])
    groups = reference.groupby("user_id")
    reference["rank"] = (groups.cumcount() + 1) / groups["user_id"].transform("count")
    expected = set(reference.index[reference["rank"] <= 0.75])
    split = split_msr(data)
    assert set(split.train["timestamp"]) == expected  # timestamps are the row numbers here
    assert len(split.train) + len(split.test) == 600 and split.holdout == "random"
