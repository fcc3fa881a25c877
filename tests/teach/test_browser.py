"""The teaching page in a real browser: headless Chromium driven by Playwright.

Starts ``sim app --port P`` on 127.0.0.1 and refuses every request that is not to
127.0.0.1 (the page must work offline). At 1280x800 and 1920x1080 it checks the layout
of each tab (nothing outside the window, nothing overlapping, no text cut, no
horizontal scroll) and drives each tab's main action: Run (exact input, the notice
when the controls differ from the run, Reset, Step, Play at 10 days a second or more),
Compare (two lever settings, a table and bands) and Explore (a response curve and the
trade-off). With SIM_UPDATE_SCREENSHOT=1 it re-takes the screenshots in docs/img/.

Skips only when Chromium is missing and CI is not set; under CI it must run
(.ci/run installs Debian's chromium when missing). Playwright's own browser
download is never used.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "docs" / "img"
SIZES = [(1280, 800), (1920, 1080)]

BLOCKS = ", ".join([
    ".sim-title", ".sim-panel .sim-control", ".sim-panel > p", ".sim-panel > .v-input",
    ".sim-control-label", ".sim-number", ".sim-control .v-slider", ".sim-control-ends span",
    ".v-tabs", ".sim-buttons .v-btn", ".sim-buttons .v-btn-toggle", ".sim-status",
    ".sim-figure", ".sim-notice", ".sim-table", ".sim-settings", ".sim-compare-ran",
    ".sim-explore-ran", ".sim-setting", ".sim-main > p", ".sim-explore-key"])
"""What the layout check looks at: every control and its parts, every text block, button
and figure. Elements inside one another are not compared with each other."""

LAYOUT_JS = """(selector) => {
  const width = document.documentElement.clientWidth;
  const visible = [...document.querySelectorAll(selector)].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  });
  const name = e => (e.className && e.className.baseVal === undefined ? e.className : e.tagName)
                    .toString().split(' ').filter(c => c.startsWith('sim-') || c.startsWith('v-'))
                    .slice(0, 2).join('.') + ' "' + (e.innerText || '').slice(0, 30) + '"';
  const problems = [];
  for (const e of visible) {
    const r = e.getBoundingClientRect();
    if (r.left < -0.5 || r.right > width + 0.5) problems.push('outside the window: ' + name(e));
    if (['P', 'LABEL', 'DIV'].includes(e.tagName) && e.scrollWidth > e.clientWidth + 1 &&
        getComputedStyle(e).overflowX !== 'visible')
      problems.push('text cut: ' + name(e));
  }
  for (let i = 0; i < visible.length; i++) {
    for (let j = i + 1; j < visible.length; j++) {
      const a = visible[i], b = visible[j];
      if (a.contains(b) || b.contains(a)) continue;
      const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
      const dx = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const dy = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (dx > 1 && dy > 1) problems.push('overlap: ' + name(a) + ' / ' + name(b));
    }
  }
  for (const img of document.querySelectorAll('img.sim-figure, .sim-figure img')) {
    if (!img.complete || img.naturalWidth === 0) problems.push('figure not drawn');
    const r = img.getBoundingClientRect();
    const ratio = (r.width / r.height) / (img.naturalWidth / img.naturalHeight);
    if (Math.abs(ratio - 1) > 0.02) problems.push('figure squeezed or cropped');
  }
  const root = document.scrollingElement;
  if (root.scrollWidth > root.clientWidth + 1) problems.push('horizontal scroll on the page');
  for (const e of document.querySelectorAll('.sim-page, .sim-layout'))
    if (e.scrollWidth > e.clientWidth + 1) problems.push('horizontal overflow: ' + name(e));
  return problems;
}"""

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    sim = Path(sys.executable).with_name("sim")
    command = [str(sim)] if sim.exists() else [sys.executable, "-m", "sim"]
    proc = subprocess.Popen([*command, "app", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGTERM) if proc.poll() is None else None
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"sim app did not start:\n{out}")
            time.sleep(0.3)
    yield port, proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "chromium must be installed under CI"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def session(browser, port: int, size: tuple[int, int]):
    """A fresh session of the page at ``size``; every non-local request is refused, and
    the test fails if the page made one.
    """
    outside: list[str] = []
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})

    def only_local(route):
        if route.request.url.startswith(f"http://127.0.0.1:{port}"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    try:
        page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
        page.get_by_role("button", name="Step", exact=True).wait_for(timeout=60_000)
        yield page
    finally:
        page.close()
    assert not outside, f"the page tried to reach outside 127.0.0.1: {outside[:5]}"


def layout_problems(page) -> list[str]:
    return page.evaluate(LAYOUT_JS, BLOCKS)


def day_of(page) -> int:
    return int(re.search(r"Day (\d+) of", page.locator(".sim-status").inner_text()).group(1))


def wait_for_day(page, day: int, timeout: float = 20_000) -> None:
    """Wait until the status line shows day ``day`` or later."""
    page.wait_for_function(
        "d => parseInt((document.querySelector('.sim-status').innerText.match(/Day (\\d+)/)"
        " || [0, 0])[1]) >= d", arg=day, timeout=timeout)


def type_number(page, name: str | re.Pattern, value: str) -> None:
    """Type an exact value into a control's number box and confirm it with Enter."""
    box = page.get_by_role("textbox", name=name, exact=isinstance(name, str))
    box.fill(value)
    box.press("Enter")


def snapshot(page, name: str, size: tuple[int, int], tmp_path: Path,
             anchor: str | None = None) -> None:
    """Save a screenshot of the window scrolled to the top (or to ``anchor``'s top):
    to docs/img/ when SIM_UPDATE_SCREENSHOT=1 (at 1280x800), else to tmp_path.
    """
    if anchor:
        page.locator(anchor).evaluate("e => e.scrollIntoView({block: 'start'})")
    else:
        page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    folder = (SCREENSHOTS if os.environ.get("SIM_UPDATE_SCREENSHOT") == "1" and size == SIZES[0]
              else tmp_path)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_run_tab(server, browser, size, tmp_path):
    from playwright.sync_api import expect

    port, _ = server
    with session(browser, port, size) as page:
        tabs = [t.inner_text().strip() for t in page.get_by_role("tab").all()]
        assert tabs == ["Run", "Compare", "Explore"]
        text = page.locator("body").inner_text()
        for generic in ("Use Threads", "Time: 0", "PAGE 0", "Page 0", "runs on Solara"):
            assert generic not in text
        status = page.locator(".sim-status")
        expect(status).to_contain_text("Day 0 of 120")
        # Every control shows its value beside its name, the same as in its number box.
        for label in page.locator(".sim-panel .sim-control-label").all():
            name, shown = re.fullmatch(r"(.+) ([+-]?\d+\.\d\d)", label.inner_text()).groups()
            box = page.get_by_role("textbox", name=f"{name} value", exact=True)
            assert float(box.input_value()) == pytest.approx(float(shown))
            slider = page.get_by_role("slider", name=name, exact=True)
            assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(float(shown))
        assert page.get_by_role("textbox", name=re.compile("^Seed")).input_value() == "20231017"
        assert layout_problems(page) == []

        plots = page.locator("img.sim-run-figure, .sim-run-figure img").first
        before = plots.screenshot()
        page.get_by_role("button", name="Step", exact=True).click()
        expect(status).to_contain_text("Day 1 of 120 (17 Oct 2023)")
        page.get_by_role("button", name="Step a week", exact=True).click()
        expect(status).to_contain_text("Day 8 of 120")

        # Exact input: out of range refused with what is allowed; in range taken exactly.
        type_number(page, "Pressure value", "1.5")
        expect(page.locator(".sim-panel")).to_contain_text("Pressure must lie in [0, 1]")
        type_number(page, "Pressure value", "0.87")
        expect(page.locator(".sim-panel .sim-control-label").nth(3)).to_have_text(
            "Pressure 0.87")
        expect(page.get_by_role("slider", name="Pressure", exact=True)).to_have_attribute(
            "aria-valuenow", "0.87")
        notice = page.locator(".sim-notice")
        expect(notice).to_contain_text("pressure 0.87 on the controls, 0.15 in this run")
        type_number(page, re.compile("^Seed"), "7")
        expect(notice).to_contain_text("seed 7 on the controls, 20231017 in this run")
        assert layout_problems(page) == []
        snapshot(page, "app_notice", size, tmp_path)

        page.get_by_role("button", name="Reset", exact=True).click()
        expect(notice).to_have_count(0)
        expect(status).to_contain_text("Day 0 of 120")
        expect(page.locator(".sim-settings")).to_contain_text("pressure 0.87")
        expect(page.locator(".sim-settings")).to_contain_text("seed 7")

        # Play at 20 days a second; Pause holds the day; Play again runs to the end at 10
        # days a second or more as the page shows it.
        page.get_by_role("button", name="20", exact=True).click()
        page.get_by_role("button", name="Play", exact=True).click()
        expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
        wait_for_day(page, 40)
        page.get_by_role("button", name="Pause", exact=True).click()
        expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
        paused = day_of(page)
        page.wait_for_timeout(1000)
        assert day_of(page) == paused < 120, "Pause did not stop the run"
        started = time.monotonic()
        page.get_by_role("button", name="Play", exact=True).click()
        expect(status).to_contain_text("Day 120 of 120", timeout=20_000)
        seconds = time.monotonic() - started
        assert (120 - paused) / seconds >= 10, f"played {120 - paused} days in {seconds:.1f} s"
        expect(page.get_by_role("button", name="Play", exact=True)).to_be_disabled()
        assert plots.screenshot() != before, "the plots did not change"
        map_text = page.locator(".sim-map")
        expect(map_text).to_be_visible()
        assert layout_problems(page) == []
        snapshot(page, "app", size, tmp_path)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_compare_tab(server, browser, size, tmp_path):
    from playwright.sync_api import expect

    port, _ = server
    with session(browser, port, size) as page:
        page.get_by_role("tab", name="Compare").click()
        type_number(page, "B: Pressure value", "0.9")
        expect(page.locator(".sim-setting-b").locator("..")).to_contain_text("B: Pressure 0.90")
        assert layout_problems(page) == []
        page.get_by_role("button", name=re.compile("^Compare A and B")).click()
        table = page.locator(".sim-table")
        expect(table).to_be_visible(timeout=60_000)
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(5)
        # The model's pressure lever lowers attacks and costs stability (docs/model.md).
        expect(rows.nth(0)).to_contain_text("better")
        expect(rows.nth(3)).to_contain_text("worse")
        ran = page.locator(".sim-compare-ran")
        expect(ran).to_contain_text("B: scenario baseline: accommodation 0.50, appeasement "
                                    "0.10, persuasion 0.30, pressure 0.90")
        expect(ran).to_contain_text("1,000 replications each")
        expect(page.locator(".sim-compare-figure")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("^Compare A and B"))).to_be_enabled()
        expect(page.locator(".sim-notice")).to_have_count(0)
        assert layout_problems(page) == []
        snapshot(page, "app_compare", size, tmp_path, anchor=".sim-compare-ran")
        type_number(page, "B: Pressure value", "0.5")
        expect(page.locator(".sim-notice")).to_contain_text(
            "pressure 0.50 on the controls, 0.90 in this run")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_explore_tab(server, browser, size, tmp_path):
    from playwright.sync_api import expect

    port, _ = server
    with session(browser, port, size) as page:
        page.get_by_role("tab", name="Explore").click()
        page.get_by_role("button", name="100", exact=True).click()
        page.get_by_role("button", name="Explore", exact=True).click()
        ran = page.locator(".sim-explore-ran")
        expect(ran).to_contain_text("100 replications at each of 11 values", timeout=60_000)
        seconds = float(re.search(r"in ([\d.]+) s", ran.inner_text()).group(1))
        assert seconds < 10
        expect(page.locator(".sim-response")).to_be_visible()
        expect(page.locator(".sim-tradeoff")).to_be_visible()
        expect(page.get_by_role("button", name="Explore", exact=True)).to_be_enabled()
        assert layout_problems(page) == []
        snapshot(page, "app_explore", size, tmp_path, anchor=".sim-explore-ran")


def test_server_fetched_nothing_from_a_cdn(server):
    """Solara's asset proxy must find every file in solara-assets (no 'Could not load URL'),
    and the page raised no error while the tests drove it."""
    _, proc = server
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    log = out.decode(errors="replace")
    assert "Could not load URL" not in log, log[-2000:]
    assert "Traceback" not in log, log[-4000:]
