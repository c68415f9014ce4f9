"""The dashboard in a real headless Chromium: streams listed, previews move, the add form works."""

from __future__ import annotations

import shutil
import time

import pytest

from vistream.server.uris import UriPolicy

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    from pathlib import Path

    from tests.conftest import require

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    require(Path(executable).is_file(), "Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def test_dashboard_shows_streams_previews_and_adds(serve, browser, wait_until) -> None:
    launch = ("urisrc name=bars uri=lavfi:testsrc2=size=160x120:rate=25 sync=true ! mux.sink_0 "
              "streammux name=mux ! fakesink name=sink")
    server, client = serve(launch, token="dash-token", policy=UriPolicy(schemes=("lavfi",)), preview_fps=10)
    page = browser.new_page()
    try:
        page.goto(server.url + "/?token=dash-token")
        page.wait_for_selector('#streams tr[data-stream="bars"] td.state-playing', timeout=15_000)
        page.wait_for_function("document.querySelector('#health').textContent === 'healthy'", timeout=10_000)

        # the preview of a moving test pattern changes over time
        image = page.locator('#previews figure[data-stream="bars"] img')
        page.wait_for_function(
            "(() => { const i = document.querySelector('#previews figure[data-stream=\"bars\"] img');"
            " return i && i.complete && i.naturalWidth > 0; })()", timeout=10_000)
        first = image.screenshot()
        time.sleep(1.0)
        second = image.screenshot()
        assert first != second, "the preview did not change"
        width = page.evaluate("document.querySelector('#previews img').naturalWidth")
        assert width == 160

        # adding through the form makes the stream appear in the table and the previews
        page.fill("#add-name", "formcam")
        page.fill("#add-uri", "lavfi:testsrc2=size=96x64:rate=25")
        page.click("#add-button")
        page.wait_for_selector('#streams tr[data-stream="formcam"]', timeout=10_000)
        page.wait_for_selector('#previews figure[data-stream="formcam"]', timeout=10_000)
        assert "formcam" in [s["name"] for s in client.get("/api/streams").json()]

        # a refused URI shows the server's reason
        page.fill("#add-name", "evil")
        page.fill("#add-uri", "/etc/passwd")
        page.click("#add-button")
        page.wait_for_function("document.querySelector('#message').textContent.includes('not allowed')", timeout=10_000)

        # removing through the form takes it away again; the events list tells what happened
        page.fill("#remove-name", "formcam")
        page.click("#remove-button")
        page.wait_for_selector('#streams tr[data-stream="formcam"]', state="detached", timeout=10_000)
        page.wait_for_function("document.querySelector('#events').textContent.includes('stream-removed')", timeout=10_000)
        # charts are drawn (something other than the background on the FPS canvas)
        drawn = page.evaluate("(() => { const c = document.querySelector('#fps-chart');"
                              " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                              " return d.some(v => v !== 0); })()")
        assert drawn
    finally:
        page.close()


def test_dashboard_needs_the_token(serve, browser) -> None:
    server, _ = serve("streammux name=mux ! fakesink name=sink", token="dash-token")
    page = browser.new_page()
    try:
        response = page.goto(server.url + "/")
        assert response is not None and response.status == 401
    finally:
        page.close()
