"""Peak memory of ``clinicbot serve`` under the SMS webhook load.

``python -m bot serve`` runs as a subprocess on the working copy of the clinic, with Twilio
configured (its API pointed at a local Twilio stand-in, so the scheduler's delivery pass sends
to it) and its scheduler on. Once ``/healthz`` answers, ``Sizes.memory_requests`` signed texts
are sent as in :mod:`benchmarks.webhook`; the figure is the process's peak resident set
(``VmHWM`` in ``/proc/PID/status``, Linux), read before it is stopped with SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from benchmarks.common import Bench, Figure
from benchmarks.webhook import drive, sms_phones
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, PUBLIC_URL, TOKEN
from tests.e2e.twilio_standin import LiveServer, TwilioStandin, loopback_socket

START_SECONDS = 60.0
STOP_SECONDS = 30.0


def peak_rss_mb(pid: int) -> float:
    """``VmHWM`` of the process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: peak memory is measured on Linux only")


def serve_env(database_url: str, port: int, twilio_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update({
        "DATABASE_URL": database_url, "CLINICBOT_HOST": "127.0.0.1",
        "CLINICBOT_PORT": str(port), "PUBLIC_BASE_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio_url,
    })
    return env


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while loop.time() < deadline:  # bounded by START_SECONDS
            if process.returncode is not None:
                said = (await process.stderr.read()).decode(errors="replace") \
                    if process.stderr else ""
                raise RuntimeError(f"clinicbot serve exited with status {process.returncode}; "
                                   f"its last words: {said[-2000:]}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("clinicbot serve did not become healthy")


async def measure(bench: Bench) -> list[Figure]:
    phones = await sms_phones(bench, bench.sizes.webhook_concurrency)
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()  # serve binds it again (a tiny window in which another process could)
    standin = TwilioStandin()
    async with LiveServer(standin.app()) as twilio:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--log-level", "warning",
            env=serve_env(bench.url, port, twilio.url), cwd=Path(__file__).parent,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            await wait_healthy(f"http://127.0.0.1:{port}", process)
            idle = peak_rss_mb(process.pid)
            load = await drive(f"http://127.0.0.1:{port}", phones, bench.sizes.memory_requests)
            peak = peak_rss_mb(process.pid)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            try:
                _, stderr = await asyncio.wait_for(process.communicate(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                _, stderr = await process.communicate()
    errors = sum(load.statuses.values()) - load.ok
    return [
        Figure("serve peak memory", peak, "MB", "< 300 MB", lambda v: v < 300,
               f"{idle:.0f} MB once started; {sum(load.statuses.values())} texts "
               f"({errors} errors) at {load.ok / load.seconds:.0f} req/s; exit status "
               f"{process.returncode}; {len(standin.sent)} SMS delivered meanwhile"
               + (f"; stderr: {stderr.decode()[-300:]!r}" if errors or process.returncode else ""),
               {"requests": sum(load.statuses.values()), "answered": load.ok,
                "exit_status": process.returncode or 0}),
    ]
