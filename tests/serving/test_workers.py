"""`semrec serve --workers 2`: two processes, one store, the same answers (read-your-writes across them)."""

import httpx
import pytest

from semrec.testing import Server, fit_tiny
from semrec.testing.server import KEY

AUTH = {"X-API-Key": KEY}


def _fresh(method: str, url: str, **kwargs) -> httpx.Response:
    """A request on a new connection, so the kernel may hand it to either worker."""
    with httpx.Client(timeout=30) as client:
        return client.request(method, url, **kwargs)


@pytest.fixture
def server(catalogue, tmp_path, store_url):
    server = Server(fit_tiny(catalogue, tmp_path), store_url, workers=2)
    yield server
    server.stop()


def _pids(server, n: int = 60) -> set[int]:
    return {_fresh("GET", f"{server.url}/health").json()["pid"] for _ in range(n)}


def test_two_workers_answer_alike_and_see_each_others_writes(server):
    url = server.url
    assert len(_pids(server)) == 2  # both processes take requests
    # feedback acknowledged by one worker is folded in by whichever answers next
    seen = []
    for item in ("toy", "lion", "alien", "terminator", "notebook", "titanic"):
        assert (
            _fresh("POST", f"{url}/feedback", json={"user_id": "rw", "item_id": item}, headers=AUTH).status_code == 200
        )
        seen.append(item)
        for _ in range(3):
            answer = _fresh("POST", f"{url}/recommend", json={"user_id": "rw", "k": 8}).json()
            assert not set(seen) & {i["item_id"] for i in answer["items"]}, (seen, answer)
    # an item added through one worker is known to every worker at once
    assert (
        _fresh("PUT", f"{url}/items/dune", json={"title": "Dune", "genres": "Sci-Fi"}, headers=AUTH).status_code == 200
    )
    for n in range(8):
        event = {"user_id": f"fan{n}", "item_id": "dune"}
        assert _fresh("POST", f"{url}/feedback", json=event, headers=AUTH).status_code == 200
    # a retrain swap is seen by both
    assert _fresh("POST", f"{url}/admin/retrain", headers=AUTH).status_code == 200
    versions = {_fresh("GET", f"{url}/health").json()["model_version"] for _ in range(20)}
    assert versions == {2}
    # a deletion is seen by both: no history, no profile, nothing in either model
    assert _fresh("DELETE", f"{url}/users/rw", headers=AUTH).status_code == 200
    for _ in range(10):
        assert _fresh("GET", f"{url}/users/rw", headers=AUTH).status_code == 404
        answer = _fresh("POST", f"{url}/recommend", json={"user_id": "rw", "k": 3}).json()
        assert answer["source"] == "most-popular", answer


def test_across_workers_nothing_acknowledged_before_the_last_delete_was_sent_survives_it(server, store_url):
    """Feedback for one user from 4 client threads (each on its own connections, so both workers
    write) while the user is deleted 5 times: the database orders the deletion against the other
    worker's writes; no event acknowledged before the last DELETE was sent survives it."""
    from semrec.serving.store import Store
    from tests.serving.race import race

    def post(event_id: str) -> bool:
        event = {"user_id": "xracer", "item_id": "toy", "event_id": event_id}
        return _fresh("POST", f"{server.url}/feedback", json=event, headers=AUTH).status_code == 200

    before, acked = race(post, lambda: _fresh("DELETE", f"{server.url}/users/xracer", headers=AUTH).status_code, 0.3)
    stored = {e["event_id"] for e in Store(store_url).export_events("xracer")}
    assert len(before) > 20 and not stored & before, (len(before), len(stored & before))
    assert stored <= acked
