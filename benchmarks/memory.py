"""Peak memory of ``clinicbot serve`` under the SMS webhook load.

``python -m bot serve`` runs as a subprocess on the working copy of the clinic
(:func:`benchmarks.serving.serve_command`: Twilio configured, its API pointed at a local Twilio
stand-in so the scheduler's delivery pass sends to it, the scheduler on). Once ``/healthz``
answers, the load generator (:mod:`benchmarks.loadgen`, in its own process) sends
``Sizes.memory_requests`` signed texts from ``Sizes.webhook_patients`` patients, each answering
at once; the figure is the process's peak resident set (``VmHWM``), read before it is stopped.
The webhook measurement reports the peak with a sweep pass inside (``serve peak memory, sweeps
on``); this one is the webhook alone, and quick.
"""

from __future__ import annotations

from benchmarks.common import Bench, Figure
from benchmarks.serving import Generator, Served, peak_rss_mb, serve_command
from benchmarks.webhook import sms_phones
from tests.e2e.twilio_standin import LiveServer, TwilioStandin

LOAD_SECONDS = 120.0


async def measure(bench: Bench) -> list[Figure]:
    sizes = bench.sizes
    phones = await sms_phones(bench, sizes.webhook_patients)
    standin = TwilioStandin()
    async with LiveServer(standin.app()) as twilio, Generator(phones, seed=7) as gen:
        def serve(port: int) -> tuple[list[str], dict[str, str]]:
            return serve_command(bench.url, port, twilio.url, sizes.sweep_seconds)

        async with Served(serve, "serve-memory") as server:
            idle = peak_rss_mb(server.pid)
            load = await gen.run([server.url], "closed", seconds=LOAD_SECONDS,
                                 requests=sizes.memory_requests)
            peak = peak_rss_mb(server.pid)
            said = server.said()
    errors = int(load["errors"])
    return [
        Figure("serve peak memory", peak, "MB", "< 300 MB", lambda v: v < 300,
               f"{idle:.0f} MB once started; {load['requests']} texts ({errors} errors) at "
               f"{load['ok'] / load['seconds']:.0f} req/s; exit status {server.exit_status}; "
               f"{len(standin.sent)} SMS delivered meanwhile"
               + (f"; log: {said[-300:]!r}" if errors or server.exit_status else ""),
               {"requests": int(load["requests"]), "answered": int(load["ok"]),
                "exit_status": server.exit_status or 0}),
    ]
