"""The browser harness: a real ``clinicbot serve`` and Debian's Chromium driven by Playwright.

``served_clinic`` loads the example clinic into a SQLite file, seeds a row in each dashboard
queue and a manager (``seed.py``), gives every staff member of :data:`PASSWORDS` a console
password (``clinicbot staff password KEY`` on standard input), and runs ``clinicbot serve``
on a free loopback port until the test ends (:func:`serving`). ``sms_clinic`` is the same
clinic SMS-only: Twilio configured, sending to the Twilio REST stand-in (``twilio``).
``page`` is a fresh Chromium page (1280x900) launched from ``/usr/bin/chromium``:
Playwright's own browser download fails here, so ``.ci/run`` installs Debian's. Without it
the tests fail; they never skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from twilio.request_validator import RequestValidator

from tests.conftest import EXAMPLE_FILE
from tests.e2e.sms_harness import ACCOUNT_SID as TWILIO_SID
from tests.e2e.sms_harness import FROM_NUMBER as TWILIO_FROM
from tests.e2e.sms_harness import TOKEN as TWILIO_TOKEN
from tests.e2e.test_sms_serve import _env, _free_port, _wait_until_healthy
from tests.e2e.twilio_standin import LiveServer, TwilioStandin, loopback_socket

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


@contextlib.contextmanager
def serving(tmp_path: Path, setup_file: Path = EXAMPLE_FILE, **extra_env: str
            ) -> Iterator[ServedClinic]:
    """``clinicbot load`` ``setup_file``, the seed, the staff passwords, then ``clinicbot
    serve`` (with ``extra_env``) on a free port until the block ends: what every served clinic
    fixture shares."""
    port = _free_port()
    env = _env(tmp_path, CLINICBOT_PORT=str(port), **extra_env)
    database_url = env["DATABASE_URL"]
    _clinicbot(env, "load", str(setup_file))
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
def served_clinic(tmp_path: Path) -> Iterator[ServedClinic]:
    with serving(tmp_path) as clinic:
        yield clinic


@dataclass(frozen=True)
class SmsClinic:
    """A served clinic whose patients text it by SMS (no Telegram), sending through ``twilio``,
    the Twilio REST stand-in; ``sign`` signs a webhook as Twilio would."""

    url: str
    database_url: str
    twilio: TwilioStandin

    def sign(self, path: str, params: dict[str, str]) -> str:
        return RequestValidator(TWILIO_TOKEN).compute_signature(self.url + path, params)


@contextlib.contextmanager
def twilio_standin() -> Iterator[tuple[TwilioStandin, str]]:
    """The Twilio stand-in served from a thread of its own (the browser tests are sync)."""
    standin, sock = TwilioStandin(), loopback_socket()
    loop = asyncio.new_event_loop()
    up, stop = threading.Event(), asyncio.Event()
    failed: list[BaseException] = []

    async def run() -> None:
        try:
            async with LiveServer(standin.app(), sock):
                up.set()
                await stop.wait()
        except BaseException as exc:  # reported to the test below
            failed.append(exc)
            up.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert up.wait(30) and not failed, failed
    try:
        yield standin, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


def _without_quiet_hours(tmp_path: Path) -> Path:
    """The example set-up file without quiet hours, so a reply goes out whatever the time."""
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    copy = tmp_path / "clinic.sms.toml"
    copy.write_text(re.sub(r"(?m)^quiet_hours = .*$", "", text), encoding="utf-8")
    return copy


@pytest.fixture
def sms_clinic(tmp_path: Path) -> Iterator[SmsClinic]:
    """An SMS-only clinic (Twilio configured, no Telegram) delivering every second to the
    Twilio stand-in."""
    with twilio_standin() as (standin, api_url), serving(
            tmp_path, _without_quiet_hours(tmp_path), TWILIO_ACCOUNT_SID=TWILIO_SID,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN, TWILIO_FROM_NUMBER=TWILIO_FROM,
            TWILIO_API_BASE_URL=api_url, CLINICBOT_DELIVERY_SECONDS="1") as clinic:
        yield SmsClinic(clinic.url, clinic.database_url, standin)


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
