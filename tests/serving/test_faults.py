"""Fault and fuzz tests against a real server process on 127.0.0.1 (bounded in count and time)."""

import subprocess
import threading
import time

import httpx
import pytest

from semrec.serving.store import Store
from semrec.testing import KEY, Server, fit_tiny

pytestmark = pytest.mark.slow


def test_sigkill_during_a_feedback_burst_loses_no_acknowledged_event(catalogue, tmp_path):
    model = fit_tiny(catalogue, tmp_path)
    db = f"sqlite:///{tmp_path / 'events.db'}"
    server = Server(model, db)
    acknowledged: list[str] = []
    stop = threading.Event()

    def burst() -> None:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=5) as client:
            for batch in range(2000):  # bounded: at most 2000 batches of 20
                if stop.is_set():
                    return
                events = [
                    {"user_id": f"b{batch % 7}", "item_id": "toy", "event_id": f"e{batch}-{n}"} for n in range(20)
                ]
                try:
                    response = client.post("/feedback", json={"events": events})
                except httpx.HTTPError:
                    return  # the server died mid-request: that batch was never acknowledged
                if response.status_code == 200:
                    acknowledged.extend(e["event_id"] for e in events)

    sender = threading.Thread(target=burst)
    sender.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 400 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL in the middle of the burst
    stop.set()
    sender.join(timeout=10)
    assert len(acknowledged) >= 400
    restarted = Server(model, db)
    try:
        stored = {e["event_id"] for e in Store(db).export_events() if e["event_id"]}
        missing = set(acknowledged) - stored
        print(f"SIGKILL mid-burst: acknowledged {len(acknowledged)}, stored {len(stored)}, lost {len(missing)}")
        assert not missing, f"{len(missing)} acknowledged events lost"
        history = httpx.get(f"{restarted.url}/users/b0").json()
        assert history["n_events"] >= 1
    finally:
        restarted.stop()


def test_fuzzing_the_openapi_schema_finds_no_server_error(catalogue, tmp_path):
    import sys
    from pathlib import Path

    model = fit_tiny(catalogue, tmp_path)
    server = Server(model, f"sqlite:///{tmp_path / 'fuzz.db'}")
    try:
        binary = Path(sys.executable).with_name("schemathesis")
        assert binary.is_file(), "schemathesis is a test dependency (pyproject [test]); the fuzz test must run"
        result = subprocess.run(
            [
                str(binary),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "-H",
                f"X-API-Key: {KEY}",
                "--max-examples",
                "100",
                "--seed",
                "3",
                "--request-timeout",
                "10",
                "--phases",
                "examples,coverage,fuzzing",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            cwd=tmp_path,  # its cache stays out of the repo
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    finally:
        server.stop()


def test_postgresql_restarted_during_a_feedback_burst_gives_503_then_every_event_once(
    catalogue, tmp_path, postgres_url
):
    """The store's server goes away for 2 s mid-burst: clients get 503 + Retry-After (never 500),
    retry the same batch (same event ids), and afterwards every acknowledged event is stored once."""
    from pathlib import Path

    url = postgres_url
    server = Server(fit_tiny(catalogue, tmp_path), url)
    statuses: dict[int, int] = {}
    acknowledged: list[str] = []
    stop = threading.Event()

    def burst() -> None:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=10) as client:
            for batch in range(600):
                if stop.is_set():
                    return
                events = [
                    {"user_id": f"p{batch % 5}", "item_id": "toy", "event_id": f"pg{batch}-{n}"} for n in range(10)
                ]
                while not stop.is_set():  # a client that honours Retry-After
                    response = client.post("/feedback", json={"events": events})
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 200:
                        acknowledged.extend(e["event_id"] for e in events)
                        break
                    assert response.status_code == 503 and response.headers["Retry-After"] == "1", response.text
                    time.sleep(0.2)

    sender = threading.Thread(target=burst)
    sender.start()
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        script = Path(__file__).resolve().parents[2] / "scripts" / "start-postgres.sh"
        subprocess.run([str(script), "restart", "2"], check=True, timeout=60)
        sender.join(timeout=120)
    finally:
        stop.set()
        sender.join(timeout=10)
        server.stop()
    print(f"PostgreSQL restart: statuses {statuses}, acknowledged {len(acknowledged)}")
    assert not sender.is_alive() and len(acknowledged) == 6000, statuses
    assert statuses.get(503, 0) >= 1 and set(statuses) <= {200, 503}, statuses
    stored = [e["event_id"] for e in Store(url).export_events() if e["event_id"]]
    assert len(stored) == len(set(stored)) == 6000 and set(stored) == set(acknowledged)


def test_sigkill_during_retrain_swaps_leaves_a_servable_model(catalogue, tmp_path):
    """`POST /admin/retrain`, then SIGKILL at several points of the refit and the artifact swap;
    after each restart the service answers from a complete model (the old or the new)."""
    model = fit_tiny(catalogue, tmp_path)
    db = f"sqlite:///{tmp_path / 'events.db'}"
    for delay in (0.0, 0.1, 0.3, 0.6, 1.0):
        server = Server(model, db)

        def retrain(url: str = server.url) -> None:
            try:
                httpx.post(f"{url}/admin/retrain", headers={"X-API-Key": KEY}, timeout=30)
            except httpx.HTTPError:
                pass  # killed mid-request

        thread = threading.Thread(target=retrain)
        thread.start()
        time.sleep(delay)
        server.kill()
        thread.join(timeout=30)
        restarted = Server(model, db)  # raises if the artifact cannot be loaded
        try:
            answer = httpx.post(f"{restarted.url}/recommend", json={"user_id": "ann", "k": 3}, timeout=10)
            assert answer.status_code == 200 and len(answer.json()["items"]) == 3, (delay, answer.text)
        finally:
            restarted.stop()


def test_a_stalled_request_body_gets_408_while_other_clients_are_answered(catalogue, tmp_path):
    """A client that sends headers and part of a body, then stalls (slowloris), is answered 408 at
    the deadline; meanwhile other clients are served, and nothing of the stalled request is stored."""
    import socket

    model = fit_tiny(catalogue, tmp_path)
    db = f"sqlite:///{tmp_path / 'events.db'}"
    server = Server(model, db, options=["--request-timeout", "3"])
    try:
        before = Store(db).count_events()
        stalled = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        head = (
            "POST /feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-API-Key: {KEY}\r\nContent-Length: 200\r\n\r\n"
        )
        stalled.sendall(head.encode() + b'{"user_id": "slow", "item_id": "to')
        started = time.monotonic()
        user = str(catalogue.interactions["user_id"].iloc[0])
        for _ in range(5):  # the stall does not hold up anyone else
            response = httpx.post(f"{server.url}/recommend", json={"user_id": user, "k": 3}, timeout=5)
            assert response.status_code == 200 and time.monotonic() - started < 3.0
        reply = stalled.recv(4096).decode()
        waited = time.monotonic() - started
        stalled.close()
        assert reply.startswith("HTTP/1.1 408"), reply[:200]
        assert 2.5 <= waited < 8.0, waited
        assert "not received within 3 s" in reply
        assert Store(db).count_events() == before
    finally:
        server.stop()
