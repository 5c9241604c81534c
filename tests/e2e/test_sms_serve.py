"""``clinicbot serve`` as a real process: configuration errors, start-up, SMS, and SIGTERM.

The graceful-shutdown test holds the SQLite write lock so that a patient's text is still being
handled when SIGTERM arrives: the process must stop accepting connections, finish that request
(200 with TwiML), and only then exit 0.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import EXAMPLE_FILE
from tests.dialogs.conftest import MAYA
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, PUBLIC_URL, TOKEN, messages, new_sid

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "CLINICBOT_", "PUBLIC_BASE_URL"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}", "PYTHONPATH": str(ROOT),
                "CLINICBOT_HOST": "127.0.0.1",
                # No test may reach a real provider: outbound calls go to a closed local port.
                "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
                "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"})
    env.update(values)
    return env


def _twilio_env(tmp_path: Path, port: int) -> dict[str, str]:
    return _env(tmp_path, CLINICBOT_PORT=str(port), PUBLIC_BASE_URL=PUBLIC_URL,
                TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=TOKEN,
                TWILIO_FROM_NUMBER=FROM_NUMBER)


def _serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=START_SECONDS)


@pytest.mark.parametrize(("values", "named"), [
    ({"TWILIO_ACCOUNT_SID": ACCOUNT_SID}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_FROM_NUMBER"),
    ({"TWILIO_ACCOUNT_SID": "ACnot-a-sid", "TWILIO_AUTH_TOKEN": TOKEN,
      "TWILIO_FROM_NUMBER": FROM_NUMBER}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
      "TWILIO_FROM_NUMBER": "14165550100"}, "TWILIO_FROM_NUMBER"),
    ({"PUBLIC_BASE_URL": "clinic.example"}, "PUBLIC_BASE_URL"),
])
def test_a_bad_setting_exits_2_naming_it_without_secrets(tmp_path, values, named):
    done = _serve(_env(tmp_path, **values), tmp_path)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr
    assert TOKEN not in done.stderr + done.stdout
    assert not (tmp_path / "clinic.db").exists(), "nothing was opened"


def test_an_unreachable_database_stops_start_up_without_its_password(tmp_path):
    url = f"postgresql://clinic:hunter2-pass@127.0.0.1:{_free_port()}/clinic"
    done = _serve(_env(tmp_path, DATABASE_URL=url, CLINICBOT_PORT=str(_free_port())), tmp_path)
    assert done.returncode == 3
    assert "could not open or migrate the database" in done.stderr
    assert "hunter2-pass" not in done.stderr + done.stdout


def _wait_until_healthy(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become healthy")


def _text(url: str, body: str) -> httpx.Response:
    params = {"MessageSid": new_sid(), "AccountSid": ACCOUNT_SID, "From": MAYA,
              "To": FROM_NUMBER, "Body": body}
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC_URL}/sms/inbound", params)
    return httpx.post(f"{url}/sms/inbound", data=params,
                      headers={"X-Twilio-Signature": signature}, timeout=60)


def test_serve_answers_texts_and_finishes_them_on_sigterm(tmp_path):
    env = _twilio_env(tmp_path, _free_port())
    loaded = subprocess.run([sys.executable, "-m", "bot", "load", str(EXAMPLE_FILE)], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    url = f"http://127.0.0.1:{env['CLINICBOT_PORT']}"
    with subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            _wait_until_healthy(url, server)
            [reply] = messages(_text(url, "Good morning, clinic"))
            assert "Hi Maya!" in reply

            lock = sqlite3.connect(tmp_path / "clinic.db", isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")  # the next text waits for the database
            answered: list[httpx.Response] = []
            in_flight = threading.Thread(
                target=lambda: answered.append(_text(url, "My packages")))
            in_flight.start()
            time.sleep(1.0)
            server.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert server.poll() is None, "the text in flight is still being answered"
            with pytest.raises(httpx.TransportError):
                httpx.get(f"{url}/healthz", timeout=2)  # no new connections while stopping
            lock.execute("ROLLBACK")
            lock.close()
            in_flight.join(timeout=60)
            [reply] = messages(answered[0])
            assert "Who is this for?" in reply
            _, log = server.communicate(timeout=60)
            assert server.returncode == 0, log
        finally:
            if server.poll() is None:
                server.kill()
    assert "shutting down" in log
    fast = importlib.util.find_spec("uvloop") is not None
    assert f"event loop {'uvloop' if fast else 'asyncio'}" in log, log
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    assert f"HTTP parser {parser}" in log, log
    for private in (MAYA, "Good morning", "Maya", TOKEN):
        assert private not in log, private
