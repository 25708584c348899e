"""The store on SQLite and on a real PostgreSQL server (CI starts one; see scripts/start-postgres.sh)."""

import pytest

from semrec.serving.store import EventRecord, Store


@pytest.fixture
def store(store_url):
    return Store(store_url)


def test_events_are_ordered_idempotent_and_exportable(store):
    events = [
        EventRecord("u", "b", "click", 1.0, 20, {"device": "phone"}, "e1"),
        EventRecord("u", "a", "view", 1.0, 10, {}, "e2"),
        EventRecord("v", "a", "rating", 4.5, 5),
    ]
    assert store.add_events(events) == 3
    assert store.add_events(events[:2]) == 0  # retried batch: stored once
    assert store.add_events([EventRecord("u", "c", timestamp=20, event_id="e3")]) == 1
    assert store.history("u") == [("a", 10), ("b", 20), ("c", 20)]
    assert store.count_events() == 4
    exported = list(store.export_events("u"))
    assert [e["item_id"] for e in exported] == ["b", "a", "c"] and exported[0]["context"] == {"device": "phone"}
    frame = store.events_frame()
    assert frame.shape == (4, 5) and frame.loc[frame.event == "rating", "value"].tolist() == [4.5]


def test_users_and_deletion_reach_every_event(store):
    store.add_events([EventRecord("u", "a"), EventRecord("u", "b"), EventRecord("w", "a")])
    store.put_user("u", "I like 中文 films", {"age": 31})
    store.put_user("u", "I like films", {"age": 32})  # replace
    assert store.get_user("u") == {"user_id": "u", "text": "I like films", "attributes": {"age": 32}, "n_events": 2}
    assert store.delete_user("u") == 2
    assert store.get_user("u") is None and store.history("u") == []
    assert [e["user_id"] for e in store.export_events()] == ["w"]
    assert store.delete_user("u") == -1


def test_items_round_trip(store):
    store.put_items([("i2", {"title": "B", "genres": "Drama"}), ("i1", {"title": "A"})])
    store.put_items([("i1", {"title": "A2"})])
    assert store.get_item("i1") == {"item_id": "i1", "title": "A2"} and store.count_items() == 2
    assert store.items_frame()["item_id"].tolist() == ["i1", "i2"]
    assert store.delete_item("i2") and not store.delete_item("i2") and store.get_item("i2") is None
