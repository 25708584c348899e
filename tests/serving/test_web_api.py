"""The page's server side (semrec.serving.web): the page and its files, /ui helpers, item attributes."""

import json

from fastapi.testclient import TestClient

from semrec.serving.app import ServiceSettings, create_app
from tests.serving.test_app import KEY, live  # noqa: F401 (the fixture)


def test_the_page_and_its_files_are_served(live):  # noqa: F811
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY)))
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/ui/static/app.js">' in page.text and 'name="viewport"' in page.text
    assert "@media (max-width" in client.get("/ui/static/style.css").text  # the phone layout
    assert 'send("/recommend"' in client.get("/ui/static/app.js").text
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_config_search_and_item_attributes(live):  # noqa: F811
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY)))
    config = client.get("/ui/config").json()
    assert config["n_items"] == 8 and config["n_users"] == 5 and config["sample_users"][:2] == ["ann", "bob"]
    assert config["reports"] == []
    assert client.get("/ui/search", params={"q": "the"}).json()[0]["title"].startswith("The ")
    assert client.get("/ui/search", params={"q": "sHiNiNg"}).json() == [{"item_id": "shining", "title": "The Shining"}]
    assert client.get("/ui/search", params={"q": "zzz"}).json() == []
    items = client.post("/recommend", json={"user_id": "bob", "k": 8}).json()["items"]
    by_id = {i["item_id"]: i["attributes"] for i in items}
    assert by_id["shining"] == {"genres": "Horror", "overview": "a haunted hotel horror"}
    assert "title" not in by_id["toy"] and "item_id" not in by_id["toy"]


def test_reports_are_read_from_the_reports_folder(live, tmp_path):  # noqa: F811
    curve = {"ns": [0, 1], "k": 10, "n_users": 3, "curve": {"semrec": [0.1, 0.2]}, "p2": {}, "text_check": {}}
    (tmp_path / "handover.json").write_text(json.dumps(curve))
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY, reports_dir=str(tmp_path))))
    assert client.get("/ui/config").json()["reports"] == ["handover"]
    assert client.get("/ui/reports/handover").json()["curve"] == {"semrec": [0.1, 0.2]}
    assert client.get("/ui/reports/frontier").status_code == 404
    assert client.get("/ui/reports/..%2Fsecret").status_code == 404


def test_reads_of_the_page_helpers_follow_read_requires_key(live):  # noqa: F811
    client = TestClient(create_app(live, ServiceSettings(api_key=KEY, read_requires_key=True)))
    assert client.get("/ui/config").status_code == 401
    assert client.get("/ui/config", headers={"X-API-Key": KEY}).status_code == 200
    assert client.get("/").status_code == 200  # the page itself asks for the key
