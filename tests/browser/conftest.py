"""The browser harness: a real ``clinicbot serve`` and Debian's Chromium driven by Playwright.

``served_clinic`` loads the example clinic into a SQLite file, gives every staff member of
:data:`PASSWORDS` a console password (``clinicbot staff password KEY`` on standard input), seeds
a row in each dashboard queue, and runs ``clinicbot serve`` on a free loopback port until the
test ends. ``page`` is a fresh Chromium page (1280x900) launched from ``/usr/bin/chromium``:
Playwright's own browser download fails here, so ``.ci/run`` installs Debian's. Without it the
tests fail; they never skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import EXAMPLE_FILE

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORDS = {"desk": "front-desk-secret"}
START_SECONDS = 30
SEED = ROOT / "tests" / "browser" / "seed.py"


@dataclass(frozen=True)
class ServedClinic:
    """A running ``clinicbot serve``: its base URL and database."""

    url: str
    database_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clinicbot(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def served_clinic(tmp_path: Path) -> Iterator[ServedClinic]:
    port = _free_port()
    database_url = f"sqlite:///{tmp_path / 'clinic.db'}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "CLINICBOT_", "PUBLIC_BASE_URL"))}
    env.update({"DATABASE_URL": database_url, "CLINICBOT_HOST": "127.0.0.1",
                "CLINICBOT_PORT": str(port), "PYTHONPATH": str(ROOT),
                "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
                "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"})
    _clinicbot(env, "load", str(EXAMPLE_FILE))
    for key, password in PASSWORDS.items():
        _clinicbot(env, "staff", "password", key, stdin=password + "\n")
    subprocess.run([sys.executable, str(SEED)], env=env, check=True, timeout=120, cwd=ROOT)
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "clinicbot serve did not become healthy"
            time.sleep(0.1)
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
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
