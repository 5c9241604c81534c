"""The browser harness: a real ``clinicbot serve`` and Debian's Chromium driven by Playwright.

``served_clinic`` loads the example clinic into a SQLite file, seeds a row in each dashboard
queue and a manager (``seed.py``), gives every staff member of :data:`PASSWORDS` a console
password (``clinicbot staff password KEY`` on standard input), and runs ``clinicbot serve``
on a free loopback port until the test ends. ``page`` is a fresh Chromium page (1280x900)
launched from ``/usr/bin/chromium``: Playwright's own browser download fails here, so
``.ci/run`` installs Debian's. Without it the tests fail; they never skip.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_sms_serve import _env, _free_port, _wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORDS = {"desk": "front-desk-secret",
             "ana": "practitioner-pw-0", "mia": "manager-pw-0"}
SEED = ROOT / "tests" / "browser" / "seed.py"


@dataclass(frozen=True)
class ServedClinic:
    """A running ``clinicbot serve``: its base URL and database."""

    url: str
    database_url: str


def _clinicbot(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def served_clinic(tmp_path: Path) -> Iterator[ServedClinic]:
    port = _free_port()
    env = _env(tmp_path, CLINICBOT_PORT=str(port))
    database_url = env["DATABASE_URL"]
    _clinicbot(env, "load", str(EXAMPLE_FILE))
    subprocess.run([sys.executable, str(SEED)], env=env, check=True, timeout=120, cwd=ROOT)
    for key, password in PASSWORDS.items():  # after the seed, which adds the manager
        _clinicbot(env, "staff", "password", key, stdin=password + "\n")
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server)
        yield ServedClinic(url, database_url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Chromium for one test: Playwright's sync API runs an event loop while it is open,
    which would stop the asyncio tests that run after (so never session-scoped)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA")
    try:
        yield context.new_page()
    finally:
        context.close()
