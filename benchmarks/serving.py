"""Servers and the load generator as processes of their own, and what /proc says about them.

* :class:`Served` starts ``python -m bot serve`` (:func:`serve_command`; scheduler on, sweeps
  every ``sweep_seconds``, SMS delivered to a Twilio stand-in) or the floor app
  (:func:`floor_command`), on a free loopback port, logging to a file; it waits for
  ``/healthz`` (bounded) and stops the process with SIGTERM (SIGKILL after
  :data:`STOP_SECONDS`).
* :class:`Generator` runs :mod:`benchmarks.loadgen` and hands it runs, one JSON line each.
* :func:`cpu_seconds` (user + system, every thread) and :func:`peak_rss_mb` (``VmHWM``) read
  ``/proc/PID`` (Linux only); :func:`scrape` reads a server's ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, PUBLIC_URL, TOKEN
from tests.e2e.twilio_standin import loopback_socket

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 90.0
STOP_SECONDS = 30.0
RUN_SECONDS_SLACK = 120.0  # a run answers within its own seconds plus this
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def peak_rss_mb(pid: int) -> float:
    """``VmHWM`` of the process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: peak memory is measured on Linux only")


def free_port() -> int:
    sock = loopback_socket()
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()  # the server binds it again (a tiny window in which another could)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "CLINICBOT_", "PUBLIC_BASE_URL",
                                "DATABASE_URL"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def serve_command(database_url: str, port: int, twilio_url: str,
                  sweep_seconds: float = 60.0) -> tuple[list[str], dict[str, str]]:
    """``clinicbot serve`` with SMS on (the stand-in at ``twilio_url``) and its scheduler."""
    env = base_env()
    env.update({
        "DATABASE_URL": database_url, "CLINICBOT_HOST": "127.0.0.1",
        "CLINICBOT_PORT": str(port), "PUBLIC_BASE_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio_url,
        "CLINICBOT_SWEEP_SECONDS": f"{sweep_seconds:g}",
    })
    return [sys.executable, "-m", "bot", "serve", "--log-level", "warning"], env


def floor_command(port: int) -> tuple[list[str], dict[str, str]]:
    return [sys.executable, "-m", "benchmarks.floor", str(port), TOKEN, PUBLIC_URL], base_env()


class Served:
    """``async with Served(command_for_port) as server``: ``server.url``, ``.pid``, ``.started``."""

    def __init__(self, command: Any, name: str) -> None:
        self.port = free_port()
        self.args, self.env = command(self.port)
        self.name = name
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.log: IO[bytes] | None = None
        self.started = 0.0  # time.monotonic() when the process was started
        self.exit_status: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def said(self) -> str:
        if self.log is None:
            return ""
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-2000:]

    async def __aenter__(self) -> Served:
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{self.name}-", suffix=".log")  # noqa: SIM115
        self.started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            *self.args, env=self.env, cwd=tempfile.gettempdir(),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = self.started + START_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while time.monotonic() < deadline:  # bounded by START_SECONDS
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited with status "
                                       f"{self.process.returncode}: {self.said()}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        await self.__aexit__()
        raise TimeoutError(f"{self.name} did not become healthy")

    async def __aexit__(self, *exc_info: object) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        self.exit_status = None if process is None else process.returncode
        if self.log is not None:
            self.log.close()


async def scrape(url: str) -> dict[str, float]:
    """A server's ``/metrics`` as ``{"name{label=value,...}": value}``."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.get("/metrics")
    response.raise_for_status()
    return {
        sample.name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                       + "}" if sample.labels else ""): sample.value
        for family in text_string_to_metric_families(response.text) for sample in family.samples
    }


class Generator:
    """``async with Generator(phones, seed) as gen: await gen.run(...)`` (see loadgen)."""

    def __init__(self, phones: list[str], seed: int = 15) -> None:
        self.setup = {"phones": phones, "token": TOKEN, "public_url": PUBLIC_URL, "seed": seed}
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def __aenter__(self) -> Generator:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.loadgen", env=base_env(), cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=2**20)
        await self._ask(self.setup, START_SECONDS)
        return self

    async def run(self, targets: list[str], mode: str, *, seconds: float, requests: int,
                  rate: float = 0.0) -> dict[str, Any]:
        """One run (bounded by ``seconds`` and ``requests``); its summary."""
        order = {"targets": targets, "mode": mode, "seconds": seconds, "requests": requests,
                 "rate": rate}
        return await self._ask(order, seconds + RUN_SECONDS_SLACK)

    async def _ask(self, order: dict[str, Any], seconds: float) -> dict[str, Any]:
        process = self.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        process.stdin.write((json.dumps(order) + "\n").encode())
        await process.stdin.drain()
        line = await asyncio.wait_for(process.stdout.readline(), seconds)
        if not line:
            raise RuntimeError(f"the load generator exited with status {await process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def __aexit__(self, *exc_info: object) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
