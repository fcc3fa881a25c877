"""The teaching page in a real browser: headless Chromium driven by Playwright.

Starts ``sim app --port P`` on 127.0.0.1, refuses every request that is not to
127.0.0.1 (the page must work offline), moves the pressure slider, presses Reset
and Step, and checks that the status line and the plots changed. Saves a
screenshot of the page to the test's temporary folder, or to docs/img/app.png
(the README's picture) when SIM_UPDATE_SCREENSHOT=1 is set.

Skips only when Chromium is missing and CI is not set; under CI it must run
(.ci/run installs Debian's chromium when missing). Playwright's own browser
download is never used.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
README_SCREENSHOT = ROOT / "docs" / "img" / "app.png"

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


def test_page_steps_and_plots_change(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM is not None, "chromium must be installed under CI"
    port, _ = server
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(f"http://127.0.0.1:{port}"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", only_local)
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            step = page.get_by_role("button", name="Step")
            step.wait_for(timeout=60_000)
            status = page.locator(".sim-status")
            expect(status).to_contain_text("Day 0 of", timeout=30_000)
            plots = page.locator("img")
            expect(plots.first).to_be_visible(timeout=30_000)
            before = plots.first.screenshot()

            pressure = page.get_by_role("slider", name="Pressure (lever)")
            start = pressure.get_attribute("aria-valuenow")
            pressure.focus()
            pressure.press("End")  # one change event: the lever to its maximum
            expect(pressure).not_to_have_attribute("aria-valuenow", start)
            moved = float(pressure.get_attribute("aria-valuenow"))
            page.wait_for_timeout(1000)  # let the change reach the server before Reset
            page.get_by_role("button", name="Reset").click()
            expect(page.locator(".sim-settings")).to_contain_text(f"pressure {moved:.2f}",
                                                                  timeout=30_000)

            for day in range(1, 7):
                step.click()
                expect(status).to_contain_text(f"Day {day} of", timeout=30_000)
            page.wait_for_timeout(1000)
            after = plots.first.screenshot()
            assert before != after, "the plots did not change after stepping"
            shot = (README_SCREENSHOT if os.environ.get("SIM_UPDATE_SCREENSHOT") == "1"
                    else tmp_path / "app.png")
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert not outside, f"the page tried to reach outside 127.0.0.1: {outside[:5]}"


def test_server_fetched_nothing_from_a_cdn(server):
    """Solara's asset proxy must find every file in solara-assets (no 'Could not load URL')."""
    _, proc = server
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    log = out.decode(errors="replace")
    assert "Could not load URL" not in log, log[-2000:]
