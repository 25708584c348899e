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
