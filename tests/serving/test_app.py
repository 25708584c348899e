"""The HTTP service over a small catalogue: every endpoint, access control, fold-in, deletion."""

import threading
import time

import pytest
from fastapi.testclient import TestClient

from semrec.config import RecommenderConfig
from semrec.pipeline import Recommender
from semrec.pipeline.handover import HandoverConfig
from semrec.serving.app import ServiceSettings, create_app
from semrec.serving.live import LiveRecommender
from semrec.serving.store import Store
from semrec.text import EncoderConfig

KEY = "test-key-123456"
AUTH = {"X-API-Key": KEY}


@pytest.fixture
def live(catalogue, hashing, tmp_path, store_url):
    model = Recommender.fit(
        catalogue,
        RecommenderConfig(
            scorer="ease",
            scorer_config={"l2": 1.0},
            encoder=EncoderConfig(model="hashing"),
            handover=HandoverConfig(enabled=False),
        ),
        encoder=hashing,
    )
    model.save(tmp_path / "model")
    return LiveRecommender(Recommender.load(tmp_path / "model", encoder=hashing), Store(store_url), tmp_path / "model")


@pytest.fixture
def client(live):
    return TestClient(create_app(live, ServiceSettings(api_key=KEY, max_body_bytes=50_000)))


def ids(response):
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["items"]]


def test_seeded_store_serves_known_users_like_the_model(client, live):
    assert live.store.count_events() == 13 and live.store.count_items() == 8
    assert ids(client.post("/recommend", json={"user_id": "ann", "k": 2}))[0] == "titanic"


def test_feedback_is_folded_in_at_once(client):
    before = ids(client.post("/recommend", json={"user_id": "newbie", "k": 3}))
    response = client.post(
        "/feedback", json={"user_id": "newbie", "item_id": "scream", "type": "purchase"}, headers=AUTH
    )
    assert response.json() == {"accepted": 1, "new": 1}
    after = client.post("/recommend", json={"user_id": "newbie", "k": 3}).json()
    assert after["source"] == "ease" and "scream" not in [i["item_id"] for i in after["items"]]
    assert [i["item_id"] for i in after["items"]] != before


def test_batches_are_idempotent_by_event_id(client, live):
    events = [{"user_id": "u1", "item_id": "toy", "event_id": f"e{n}"} for n in range(5)]
    assert client.post("/feedback", json={"events": events}, headers=AUTH).json() == {"accepted": 5, "new": 5}
    assert client.post("/feedback", json={"events": events}, headers=AUTH).json() == {"accepted": 5, "new": 0}
    assert live.store.get_user("u1")["n_events"] == 5


def test_bad_feedback_is_a_4xx_and_stores_nothing(client, live):
    n = live.store.count_events()
    unknown = client.post(
        "/feedback",
        json={"events": [{"user_id": "a", "item_id": "toy"}, {"user_id": "a", "item_id": "nope"}]},
        headers=AUTH,
    )
    assert unknown.status_code == 422 and "unknown item id 'nope'" in unknown.json()["detail"]
    assert (
        client.post("/feedback", json={"user_id": "a", "item_id": "toy", "value": "x"}, headers=AUTH).status_code == 422
    )
    assert (
        client.post("/feedback", content=b"{not json", headers={**AUTH, "content-type": "application/json"}).status_code
        == 422
    )
    assert live.store.count_events() == n


def test_writes_need_the_key(client):
    body = {"user_id": "a", "item_id": "toy"}
    assert client.post("/feedback", json=body).status_code == 401
    assert client.post("/feedback", json=body, headers={"X-API-Key": "wrong-key-000"}).status_code == 401
    assert client.post("/feedback", json=body, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert client.delete("/users/ann").status_code == 401 and client.put("/items/x", json={}).status_code == 401


def test_reads_can_require_the_key(live):
    closed = TestClient(create_app(live, ServiceSettings(api_key=KEY, read_requires_key=True)))
    assert closed.post("/recommend", json={}).status_code == 401
    assert closed.post("/recommend", json={}, headers=AUTH).status_code == 200


def test_body_size_limit(client):
    response = client.post("/recommend", json={"text": "word " * 20_000})
    assert response.status_code == 413

    def chunks():  # no content-length: the limit applies to the stream
        yield b'{"text": "'
        for _ in range(100):
            yield b"word " * 200
        yield b'"}'

    streamed = client.post("/recommend", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_feedback_errors_name_only_the_shape_sent(client):
    detail = client.post("/feedback", json={"events": []}, headers=AUTH).json()["detail"]
    assert len(detail) == 1 and detail[0]["loc"][-1] == "events"


def test_unknown_users_fall_back_and_text_users_use_their_profile(client):
    popular = client.post("/recommend", json={"user_id": "stranger", "k": 2}).json()
    assert popular["source"] == "most-popular"
    client.put("/users/nina", json={"text": "I adore haunted hotel horror", "attributes": {"age": 30}}, headers=AUTH)
    profile = client.post("/recommend", json={"user_id": "nina", "k": 3}).json()
    # the stored text names Horror: the catalogue's three horror films come first
    assert profile["source"] == "text" and {i["item_id"] for i in profile["items"]} == {"shining", "scream", "alien"}
    assert client.get("/users/nina").json() == {
        "user_id": "nina",
        "text": "I adore haunted hotel horror",
        "attributes": {"age": 30},
        "n_events": 0,
    }


def test_delete_user_forgets_everything(client, live, tmp_path):
    assert client.delete("/users/ann", headers=AUTH).json() == {
        "user_id": "ann",
        "deleted_events": 2,
        "erasure_pending_retrain": True,
    }
    assert client.get("/users/ann").status_code == 404
    assert not [e for e in live.store.export_events() if e["user_id"] == "ann"]
    assert client.post("/recommend", json={"user_id": "ann"}).json()["source"] == "most-popular"
    assert live.wait_for_erasure(timeout=60)  # the background retrain refits the weights without ann
    assert "ann" not in live.model.users.vocab and live.erasure_pending == {} and live.model_version == 2
    on_disk = Recommender.load(tmp_path / "model")
    assert "ann" not in on_disk.users.vocab  # the artifact on disk was refitted too
    assert client.delete("/users/ann", headers=AUTH).status_code == 404


def test_new_item_is_recommendable_at_once_and_deletable(client, live):
    body = {"title": "Haunted Hotel 2", "genres": "Horror", "overview": "a haunted hotel horror sequel"}
    assert client.put("/items/hh2", json=body, headers=AUTH).status_code == 200
    assert ids(client.post("/recommend", json={"text": "haunted hotel horror sequel", "k": 1})) == ["hh2"]
    eve = ids(client.post("/recommend", json={"user_id": "eve", "k": 8}))  # a horror fan, fitted before hh2
    assert "hh2" in eve
    assert client.post("/feedback", json={"user_id": "eve", "item_id": "hh2"}, headers=AUTH).status_code == 200
    assert client.get("/items/hh2").json()["title"] == "Haunted Hotel 2"
    assert client.delete("/items/hh2", headers=AUTH).status_code == 200
    assert "hh2" not in ids(client.post("/recommend", json={"text": "haunted hotel horror sequel", "k": 8}))
    assert client.post("/feedback", json={"user_id": "eve", "item_id": "hh2"}, headers=AUTH).status_code == 422


def test_filters_diversity_explain_and_validation(client):
    horror = client.post("/recommend", json={"filters": {"genres": ["Horror"]}, "k": 10}).json()
    assert {i["item_id"] for i in horror["items"]} == {"alien", "scream", "shining"}
    explained = client.post("/recommend", json={"user_id": "ann", "k": 2, "explain": True, "diversity": 0.5}).json()
    assert all(item["reason"] for item in explained["items"])
    assert client.post("/recommend", json={"filters": {"colour": ["red"]}}).status_code == 400
    assert client.post("/recommend", json={"text": "   "}).status_code == 400
    assert client.post("/recommend", json={"k": 0}).status_code == 422
    assert client.post("/recommend", json={"history": ["nope"]}).status_code == 400
    assert client.post("/recommend", json={"context": {"hour": 99}}).status_code == 400
    occasion = client.post(
        "/recommend", json={"user_id": "eve", "k": 2, "context": {"occasion": "animated toys for kids"}}
    )
    assert occasion.status_code == 200 and any("context" in note for note in occasion.json()["notes"])


def test_retrain_swaps_the_model_and_keeps_answering(client, live):
    client.post(
        "/feedback", json={"events": [{"user_id": "zed", "item_id": i} for i in ("toy", "alien")]}, headers=AUTH
    )
    report = client.post("/admin/retrain", headers=AUTH).json()
    assert report["n_events"] == 15 and live.model_version == 2
    assert "zed" in live.model.users.vocab
    assert client.get("/health").json()["model_version"] == 2


def test_metrics_are_prometheus_text(client):
    client.post("/recommend", json={"k": 1})
    text = client.get("/metrics").text
    assert 'semrec_requests_total{endpoint="/recommend",method="POST",status="200"} 1.0' in text
    assert "semrec_request_latency_seconds_bucket" in text and "semrec_events_stored 13.0" in text
    assert "semrec_model_version 1.0" in text


def test_openapi_schema_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/recommend", "/feedback", "/users/{user_id}", "/items/{item_id}", "/health", "/metrics"} <= set(paths)


def test_no_failed_request_while_a_retrain_swaps_the_model(client, live):
    failures, done = [], threading.Event()

    def hammer():
        while not done.is_set():
            for user in ("ann", "bob", "stranger"):
                response = client.post("/recommend", json={"user_id": user, "k": 3})
                if response.status_code != 200 or len(response.json()["items"]) != 3:
                    failures.append(response.status_code)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(3):
        assert client.post("/admin/retrain", headers=AUTH).status_code == 200
    done.set()
    for thread in threads:
        thread.join()
    assert failures == [] and live.model_version == 4


def test_scheduled_retrain_picks_up_new_events(live):
    app = create_app(live, ServiceSettings(api_key=KEY, retrain_every_s=0.3))
    with TestClient(app) as client:
        client.post("/feedback", json={"user_id": "late", "item_id": "toy"}, headers=AUTH)
        deadline = time.monotonic() + 20
        while "late" not in live.model.users.vocab and time.monotonic() < deadline:
            time.sleep(0.1)
    assert "late" in live.model.users.vocab and live.model_version >= 2


def test_exports_show_no_trace_of_a_deleted_user(client, live, tmp_path):
    from typer.testing import CliRunner

    from semrec.cli import app

    client.post("/feedback", json={"user_id": "gdpr", "item_id": "toy", "context": {"city": "Lyon"}}, headers=AUTH)
    before = CliRunner().invoke(app, ["export", "--db", live.store.url, "--user", "gdpr"]).stdout
    assert '"city": "Lyon"' in before
    client.delete("/users/gdpr", headers=AUTH)
    everything = CliRunner().invoke(app, ["export", "--db", live.store.url]).stdout
    assert "gdpr" not in everything and everything.count("\n") == 13


def test_the_serve_command_starts_and_answers_a_recommendation(catalogue, tmp_path):
    """`semrec serve` as a user runs it (fast: a hashing-encoder artifact)."""
    import httpx

    from semrec.testing import Server, fit_tiny

    model = fit_tiny(catalogue, tmp_path)
    server = Server(model, f"sqlite:///{tmp_path / 'events.db'}")
    try:
        first_user = str(catalogue.interactions["user_id"].iloc[0])
        response = httpx.post(f"{server.url}/recommend", json={"user_id": first_user, "k": 3}, timeout=10)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 3
    finally:
        server.stop()


def test_non_finite_numbers_get_422_naming_the_field_and_nothing_is_stored(client, live):
    raw = {"Content-Type": "application/json", **AUTH}
    before = live.store.count_events()
    response = client.post("/feedback", content='{"user_id": "u", "item_id": "toy", "value": 1e309}', headers=raw)
    assert response.status_code == 422, response.text
    assert ["body", "event", "value"] == response.json()["detail"][0]["loc"]
    assert response.json()["detail"][0]["input"] == "inf"
    response = client.put("/users/u", content='{"attributes": {"age": 1e309}}', headers=raw)
    assert response.status_code == 422, response.text
    assert any(e["loc"][:3] == ["body", "attributes", "age"] for e in response.json()["detail"])
    assert client.get("/users/u", headers=AUTH).status_code == 404  # the profile was not written with null
    assert client.post("/recommend", content='{"context": {"t": -1e400}}', headers=raw).status_code == 422
    assert live.store.count_events() == before


def test_error_replies_quote_only_an_excerpt_of_the_input(live):
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY)))
    text = "x" * 100_001
    response = client.put("/users/u", json={"text": text}, headers=AUTH)
    assert response.status_code == 422
    assert len(response.content) < 1_000 and "100,001 characters" in response.text


def _files_holding(folder, needle: bytes) -> list[str]:
    """Files under ``folder`` containing ``needle`` (a file the erasure refit swaps away mid-scan is gone)."""
    import os
    from pathlib import Path

    out = []
    for root, _dirs, files in os.walk(folder):  # os.walk skips a folder that vanishes (pathlib.rglob raises)
        for name in files:
            path = Path(root) / name
            try:
                if needle in path.read_bytes():
                    out.append(str(path.relative_to(folder)))
            except FileNotFoundError:
                continue
    return sorted(out)


def test_deleting_a_user_leaves_no_byte_of_their_id_or_text_in_any_file(catalogue, hashing, tmp_path, store_url):
    """Every file semrec owns (SQLite database and WAL file, the artifact), after DELETE returns and
    after the erasure retrain; on PostgreSQL the artifact (the database files are the server's)."""
    model = Recommender.fit(
        catalogue, RecommenderConfig(scorer="ease", encoder=EncoderConfig(model="hashing")), encoder=hashing
    )
    model.save(tmp_path / "model")
    store = Store(store_url)
    live = LiveRecommender(Recommender.load(tmp_path / "model", encoder=hashing), store, tmp_path / "model")
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY)))
    user, secret = "fold_kids_4471", "my daughter Zoe loves zebras"
    assert (
        client.put(
            f"/users/{user}", json={"text": secret, "attributes": {"city": "Quimperle"}}, headers=AUTH
        ).status_code
        == 200
    )
    for item in ("toy", "lion", "scream"):
        assert client.post("/feedback", json={"user_id": user, "item_id": item}, headers=AUTH).status_code == 200
    live.retrain()  # the model and the artifact now know the user too
    assert user in live.model.users.vocab
    # UTF-8 (databases, JSON) and UTF-32 (numpy's unicode arrays inside arrays.npz)
    needles = [
        text.encode(codec) for text in (user, "Zoe loves zebras", "Quimperle") for codec in ("utf-8", "utf-32-le")
    ]
    assert _files_holding(tmp_path, needles[1]) == ["model/arrays.npz"]  # the marker is on disk before the delete
    response = client.delete(f"/users/{user}", headers=AUTH)
    assert response.status_code == 200 and response.json()["deleted_events"] == 3
    for needle in needles:
        assert _files_holding(tmp_path, needle) == [], needle
    again = client.delete(f"/users/{user}", headers=AUTH)  # idempotent: no -1, no second retrain
    assert again.status_code in (200, 404) and again.json().get("deleted_events", 0) == 0
    assert live.wait_for_erasure(timeout=60)
    version = live.model_version
    for needle in needles:
        assert _files_holding(tmp_path, needle) == [], needle
    assert client.delete(f"/users/{user}", headers=AUTH).status_code == 404 and live.model_version == version


def test_writes_above_the_rate_limit_get_429_with_retry_after_and_reads_do_not(live):
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY, write_rate=1.0, write_burst=3)))
    codes = [client.post("/feedback", json={"user_id": "w", "item_id": "toy"}, headers=AUTH) for _ in range(5)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429, 429]
    assert codes[3].headers["Retry-After"] == "1" and "rate limit" in codes[3].json()["detail"]
    assert live.store.history("w") and len(live.store.history("w")) == 3  # refused writes stored nothing
    assert all(client.post("/recommend", json={"user_id": "w"}).status_code == 200 for _ in range(10))
    time.sleep(1.1)  # one token back
    assert client.post("/feedback", json={"user_id": "w", "item_id": "lion"}, headers=AUTH).status_code == 200


def test_nothing_acknowledged_before_the_last_delete_was_sent_survives_it(client, live):
    """Feedback for one user from 4 threads while the user is deleted 5 times: no event acknowledged
    before the last DELETE was sent survives it. (An event committed just after the deletion may be
    acknowledged a moment before the DELETE's own answer arrives; it is new data and stays.)"""
    from tests.serving.race import race

    def post(event_id: str) -> bool:
        event = {"user_id": "racer", "item_id": "toy", "event_id": event_id}
        return client.post("/feedback", json=event, headers=AUTH).status_code == 200

    before, acked = race(post, lambda: client.delete("/users/racer", headers=AUTH).status_code, 0.05)
    stored = {e["event_id"] for e in live.store.export_events("racer")}
    assert len(before) > 20 and not stored & before, (len(before), len(stored & before))
    assert stored <= acked  # what survives was written after, and acknowledged


def test_a_recommendation_past_the_deadline_gets_503_and_queued_ones_are_never_computed(live):
    """One request holds the scoring thread past the deadline; the two queued behind it are shed
    (503 with Retry-After, never computed), and the service answers again once the thread is free."""
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY, request_timeout_s=0.5)))
    served = live.recommend
    gate, computed = threading.Event(), []

    def stalled(query):
        computed.append(query.user_id)
        gate.wait(20)
        return served(query)

    live.recommend = stalled
    replies: list = []
    threads = [
        threading.Thread(target=lambda u=u: replies.append(client.post("/recommend", json={"user_id": u})))
        for u in ("a", "b", "c")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(r.status_code for r in replies) == [503, 503, 503]
    assert all(r.headers["Retry-After"] == "1" and "deadline" in r.json()["detail"] for r in replies)
    assert len(computed) == 1  # only the request that held the thread was computed
    gate.set()
    live.recommend = served
    assert client.post("/recommend", json={"user_id": "a"}).status_code == 200
    assert "semrec_request_timeouts_total 3.0" in client.get("/metrics").text
