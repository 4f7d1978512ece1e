"""The slice report and the TA class page in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright opens each file from disk, with the network refused, and clicks through it.

The pages come from really executed notebooks (``lab_runs``: the untouched notebook as ``make lab`` runs it, the
completed one, and one stopped by an error). Each test fails on a console error, an uncaught exception or any
request other than the file itself. Screenshots at 1,280 px go to ``$LAB4_SCREENSHOTS`` when set (else the test's
temporary folder). Skipped, saying why, where Playwright's package or a Chromium is missing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import lab4.tools.__main__
from lab4.deliverables import DELIVERABLES

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed "
                               "(pip install playwright; it drives Debian's chromium, no browser download)")
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: apt-get install -y chromium")

# As the render check starts it: no background requests of Chromium's own, a fresh profile.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


class Opened:
    """A page opened from disk, with every console error, page error and request recorded."""

    def __init__(self, browser, path: Path):
        self.path = Path(path)
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors, self.requests = [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.path.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=20_000)

    def foreign_requests(self):
        own = self.path.resolve().as_uri()
        return [u for u in self.requests if u != own and not u.startswith("data:")]

    def screenshot(self, name):
        folder = Path(os.environ.get("LAB4_SCREENSHOTS") or self.path.parent)
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        return folder / f"{name}.png"

    def close(self):
        self.context.close()


def _embedded(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="lab4-data">(.*?)</script>', text, re.S).group(1))


@pytest.mark.parametrize("run", ["untouched", "completed"])
def test_slice_report_opens_offline_and_a_click_lists_the_slices_tweets(lab_runs, browser, run):
    path = lab_runs.reports[run]
    data = _embedded(path)
    opened = Opened(browser, path)
    page = opened.page
    try:
        rows = page.locator("#slice-table .tabulator-row")
        assert rows.count() == len(data["slices"]) >= 12
        # worst first, as slice_stats orders it: delta ascending down the rows, empty slices last
        shown = [float(t.replace("\u2212", "-").split()[0]) for t in page.locator(
            "#slice-table .tabulator-cell[tabulator-field='delta']").all_inner_texts() if t.strip() != "n/a"]
        assert len(shown) >= 12 and shown == sorted(shown)
        assert page.locator("#plots img").count() == 2
        assert page.locator("#memo table").count() == 1 and page.locator("#step7 table").count() == 3
        target = max((r for r in data["slices"] if r["slice"] != "all"), key=lambda r: r["regressions"] or 0)
        page.locator("#slice-table .tabulator-row", has_text=target["slice"]).first.click()
        title = page.locator("#tweets-title").inner_text()
        assert title.startswith(f"Tweets in {target['slice']} (n = {target['n']:,})"), title
        note = page.locator("#tweets-note").inner_text()
        assert note == (f"Your note: {target['note']}" if target["note_written"]
                        else "No note written on this slice yet (Step 6)."), note
        assert target["note_written"] == (run == "completed")
        count = lambda: page.evaluate("tweetTable.getDataCount('active')")  # noqa: E731
        assert count() == target["n"]
        assert page.locator("#tweet-table .tabulator-row").count() > 0
        page.select_option("#tweet-filter", "regressed")
        assert count() == target["regressions"] > 0
        outcomes = page.locator("#tweet-table .tabulator-row .tag").all_inner_texts()
        assert outcomes and set(outcomes) == {"regression"}
        page.select_option("#tweet-filter", "improved")
        assert count() == target["fixes"]
        shot = opened.screenshot(f"report_{run}")
        assert shot.stat().st_size > 20_000
        assert opened.errors == [] and opened.foreign_requests() == []
    finally:
        opened.close()


def test_class_page_from_real_notebooks(lab_runs, browser, tmp_path, capsys):
    out = tmp_path / "class.html"
    assert lab4.tools.__main__.main(["summary", str(lab_runs.submissions), "--html", str(out)]) == 0
    assert "wrote the class page (3 notebooks)" in capsys.readouterr().out
    opened = Opened(browser, out)
    page = opened.page
    try:
        rows = page.locator("#class-table .tabulator-row")
        assert rows.count() == 3
        names = lambda: [t.strip() for t in page.locator(  # noqa: E731
            "#class-table .tabulator-row .tabulator-cell[tabulator-field='notebook']").all_inner_texts()]
        assert names() == ["completed.ipynb", "errored.ipynb", "untouched.ipynb"]
        done = page.locator("#class-table .tabulator-row .tabulator-cell[tabulator-field='passed']")
        by_name = dict(zip(names(), [t.strip() for t in done.all_inner_texts()]))
        assert by_name["completed.ipynb"] == f"{len(DELIVERABLES)}/{len(DELIVERABLES)}"
        page.locator(".tabulator-col[tabulator-field='passed'] .tabulator-col-title").click()
        page.locator(".tabulator-col[tabulator-field='passed'] .tabulator-col-title").click()
        assert names()[0] == "completed.ipynb"  # most deliverables done first
        errored = rows.filter(has_text="errored.ipynb")
        assert "error: cell" in errored.inner_text()
        completed = rows.filter(has_text="completed.ipynb")
        completed.locator("details.more > summary").click()
        text = completed.locator("details.more").inner_text()
        assert "negated praise" in text and "ship_decision" in text and "Slice notes" in text
        # the opened row grows: the next row starts below its last line, nothing is clipped or hidden
        opened_box = completed.locator("details.more").bounding_box()
        assert errored.bounding_box()["y"] >= opened_box["y"] + opened_box["height"] - 1
        assert completed.locator("details.more dl").is_visible()
        opened.screenshot("class_page")
        assert opened.errors == [] and opened.foreign_requests() == []
    finally:
        opened.close()
