"""The page at / in a real headless Chromium (Debian's package, driven by Selenium).

On the default MovieLens-100K artifact served by a real `semrec serve` process: a Chinese
self-description typed and sent with the keyboard changes the list to films that fit it, a liked
film is sent as feedback and the next list follows it, and the page fits a phone's width. A
screenshot is saved as artifacts/web-page.png.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from semrec.serving.store import Store
from semrec.testing import KEY, Server

pytestmark = pytest.mark.slow

SCREENSHOT = Path("artifacts/web-page.png")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("web") / "ml-100k"
    subprocess.run(
        [sys.executable, "-m", "semrec.cli", "fit", "--dataset", "movielens-100k", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture
def browser():
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.skip("no Chromium (run scripts/install-browser.sh; CI does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=390,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _reports(folder: Path) -> Path:
    """A hand-over curve and a frontier in the format `semrec evaluate-handover` / `-diversity` write."""
    import json

    folder.mkdir()
    handover = {"ns": [0, 1], "k": 10, "n_users": 5, "curve": {"semrec": [0.1, 0.3], "EASE": [0.05, 0.2]}}
    point = {"label": "hybrid + topic", "reranker": "topic", "metrics": {"NDCG": 0.3, "ILD": 0.6}}
    frontier = {
        "k": 10,
        "base": "hybrid",
        "points": [
            {**point, "diversity": d, "metrics": {"NDCG": 0.3 - d / 10, "ILD": 0.6 + d / 5}} for d in (0, 0.5, 1)
        ],
        "references": [
            {"label": "hybrid", "metrics": {"NDCG": 0.31, "ILD": 0.55}},
            {"label": "MostPopular", "metrics": {"NDCG": 0.1, "ILD": 0.7}},
        ],
    }
    (folder / "handover.json").write_text(json.dumps(handover))
    (folder / "frontier.json").write_text(json.dumps(frontier))
    return folder


def listed(driver) -> list[tuple[str, str, str]]:
    """(item id, title, attributes line) of every item in the list (read in one script: no stale nodes)."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#results li')].map((li) => [li.dataset.itemId,"
        " li.querySelector('.title').textContent,"
        " [...li.querySelectorAll('.meta')].map((m) => m.textContent).join(' ')]);"
    )
    return [tuple(row) for row in rows]


def wait_for_new_list(driver, before):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(
        lambda d: listed(d) and listed(d) != before and not d.find_element("id", "go").get_attribute("disabled")
    )
    return listed(driver)


def test_the_page_answers_a_chinese_description_and_follows_a_liked_item(model, browser, tmp_path):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    db = f"sqlite:///{tmp_path / 'events.db'}"
    reports = _reports(tmp_path / "reports")
    server = Server(model, db, options=["--reports", str(reports)])
    try:
        browser.get(server.url + "/")
        WebDriverWait(browser, 30).until(lambda d: "items" in d.find_element("id", "model-info").text)
        assert "1,682 items" in browser.find_element("id", "model-info").text

        browser.find_element("id", "go").click()  # nothing said yet: the popular list
        popular = wait_for_new_list(browser, [])
        assert len(popular) == 10

        # keyboard only: type into the description, Tab to the button, Enter
        text = browser.find_element("id", "text")
        text.click()
        text.send_keys("我最近喜欢看恐怖片，越吓人越好")
        for _ in range(12):
            if browser.switch_to.active_element.get_attribute("id") == "go":
                break
            browser.switch_to.active_element.send_keys(Keys.TAB)
        assert browser.switch_to.active_element.get_attribute("id") == "go"
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        described = wait_for_new_list(browser, popular)
        horror = [title for _, title, meta in described if "Horror" in meta]
        assert len(horror) >= 7, described  # "I like horror films lately, the scarier the better"
        assert all(browser.find_elements("css selector", "#results li .reason")), "every item is explained"

        # with the write key, a liked film goes to the store and the next list is computed from it
        browser.find_element("css selector", "#query details summary").click()
        browser.find_element("id", "api-key").send_keys(KEY)
        liked_id, liked_title, _ = described[0]
        browser.find_element("css selector", f'#results li[data-item-id="{liked_id}"] button.like').click()
        following = wait_for_new_list(browser, described)
        assert liked_id not in [i for i, _, _ in following]  # seen items are not recommended again
        assert liked_title in browser.find_element("id", "history").text
        events = list(Store(db).export_events())
        assert [(e["item_id"], e["user_id"].startswith("web-")) for e in events[-1:]] == [(liked_id, True)]
        reasons = browser.execute_script(
            "return [...document.querySelectorAll('#results li .reason')].map((r) => r.textContent).join(' ')"
        )
        assert liked_title in reasons, reasons  # the explanations now cite the liked film

        # the measurement reports are drawn: a line per model, a point per n / diversity level
        circles = browser.execute_script(
            "return ['handover', 'frontier'].map((id) => document.querySelectorAll('#' + id + ' svg circle').length)"
        )
        assert circles == [4, 5], circles
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"horizontal scrolling at phone width: {width}"
        SCREENSHOT.parent.mkdir(exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT))
    finally:
        server.stop()
