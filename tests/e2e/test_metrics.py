"""``GET /metrics``: requests by route template, dialog turns, the outbox, deliveries, and serve.

The in-process tests run ``create_app`` under uvicorn on a loopback port (SQLite, and
PostgreSQL when configured) with the example clinic loaded, Twilio configured and no background
services, and read the exposition the way Prometheus does (``prometheus_client.parser``). The
last test runs ``clinicbot serve`` itself with JSON logs.
"""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.collector import YOUNG_OBJECTS
from bot.delivery.channels import Channels
from bot.delivery.errors import TransientError
from bot.delivery.queue import STATUSES
from bot.delivery.sender import Deliverer, DeliveryCounts
from bot.observability.hooks import (
    ANSWERED,
    DELIVERY_RESULTS,
    FAILED,
    NO_CHANNEL,
    OPTED_OUT,
)
from bot.observability.http import KNOWN_PATHS, METRICS_PATH, RequestMetrics
from bot.observability.metrics import LABEL_VALUES, OTHER, Metrics
from bot.scheduler.service import SchedulerService
from bot.server import Runtime, create_app
from bot.services import reminders
from bot.storage.models import OutboxMessage
from tests.conftest import EXAMPLE_FILE
from tests.dialogs.conftest import MAYA
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server, sms_settings
from tests.e2e.test_sms_serve import _free_port, _text, _twilio_env, _wait_until_healthy
from tests.e2e.twilio_standin import LiveServer, loopback_socket
from tests.integration.test_outbox_support import FakeChannel

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(exposition: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


@pytest.fixture
async def twilio(clinic, database_url, clock) -> AsyncIterator[Twilio]:
    """The server with SMS and no background services (nothing delivers behind the test)."""
    sock = loopback_socket()
    settings = sms_settings(database_url, sock.getsockname()[1])
    async with (
        LiveServer(create_app(settings, clock=clock, services=[]), sock) as live,
        httpx.AsyncClient(base_url=live.url, timeout=60) as http,
    ):
        yield Twilio(http, settings)


@pytest.fixture
def clinic_file_loaded(tmp_path) -> dict[str, str]:
    """The environment of a serve process with Twilio on and the example clinic loaded."""
    env = _twilio_env(tmp_path, _free_port())
    loaded = subprocess.run([sys.executable, "-m", "bot", "load", str(EXAMPLE_FILE)], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    return env


async def queue_unpaid(make_uow) -> None:
    """Leo's late installment: a reminder to Maya and an alert to the desk, both due now."""
    async with make_uow() as uow:
        assert await reminders.unpaid_reminders(uow) == 2
        await uow.commit()


async def test_requests_are_counted_by_route_template_and_turns_by_outcome(twilio):
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.say("HELP")
    await maya.say("STOP")
    params = twilio.inbound_params(MAYA, "hi")
    assert (await twilio.post("/sms/inbound", params, signature="forged")).status_code == 403
    assert (await twilio.http.get(f"/sms/inbound?From={MAYA}")).status_code == 405
    assert (await twilio.http.get("/wp-login.php?user=admin")).status_code == 404

    samples = await scrape(twilio.http)
    requests = "clinicbot_http_requests_total"
    assert value(samples, requests, route="/sms/inbound", method="POST", status="200") == 3
    assert value(samples, requests, route="/sms/inbound", method="POST", status="403") == 1
    assert value(samples, requests, route="/sms/inbound", method="GET", status="405") == 1
    assert value(samples, requests, route="other", method="GET", status="404") == 1
    assert value(samples, "clinicbot_http_request_duration_seconds_count",
                 route="/sms/inbound") == 5
    labels = {v for _, pairs in samples for _, v in pairs}
    assert not [v for v in labels if "wp-login" in v or MAYA in v], "no raw paths, no phones"
    turns = "clinicbot_dialog_turns_total"
    assert value(samples, turns, channel="sms", outcome="answered") == 2
    assert value(samples, turns, channel="sms", outcome="opted_out") == 1
    assert value(samples, "clinicbot_dialog_turn_duration_seconds_count", channel="sms") == 3
    assert value(samples, requests, route="/metrics", method="GET", status="200") is None
    again = await scrape(twilio.http)
    assert value(again, requests, route="/metrics", method="GET", status="200") == 1


async def test_the_outbox_is_read_from_the_database_at_scrape_time(twilio, clock, make_uow):
    samples = await scrape(twilio.http)
    assert {s: value(samples, "clinicbot_outbox_messages", status=s)
            for s in ("pending", "claimed", "sent", "failed", "skipped")} == dict.fromkeys(
        ("pending", "claimed", "sent", "failed", "skipped"), 0)
    await queue_unpaid(make_uow)
    async with make_uow() as uow:
        by_status = dict((await uow.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all())
        oldest = await uow.session.scalar(select(func.min(OutboxMessage.not_before)))
    assert by_status == {"pending": 2}
    clock.set(oldest + timedelta(seconds=90))
    samples = await scrape(twilio.http)
    assert value(samples, "clinicbot_outbox_messages", status="pending") == 2
    assert value(samples, "clinicbot_outbox_oldest_due_seconds") == 90
    assert value(samples, "clinicbot_outbox_read_errors_total") == 0


async def test_a_slow_database_leaves_the_outbox_out_of_a_prompt_scrape(twilio, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite (WAL) never makes a reader wait for a writer")
    locker = await asyncpg.connect(database_url)
    try:
        async with locker.transaction():
            await locker.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            samples = await scrape(twilio.http)
            assert time.monotonic() - started < 5, "bounded by the 2 s outbox read"
            assert not [name for name, _ in samples if name.startswith("clinicbot_outbox_mess")]
            assert value(samples, "clinicbot_outbox_read_errors_total") == 1
            assert value(samples, "clinicbot_http_requests_total", route="/metrics",
                         method="GET", status="200") is None, "the rest is served as usual"
    finally:
        await locker.close()
    samples = await scrape(twilio.http)
    assert value(samples, "clinicbot_outbox_messages", status="pending") == 0, "back again"


async def test_deliveries_are_counted_by_channel_and_result_with_their_latency(
    clinic, engine, clock, make_uow
):
    await queue_unpaid(make_uow)
    metrics = Metrics()
    sms = FakeChannel("sms", clock, fail=[TransientError("Twilio is busy")])
    sender = Deliverer(engine, clock, Channels([sms]), observer=metrics)
    assert (await sender.run_once()).retried == 1, "the desk's alert waits: no Telegram"
    async with make_uow() as uow:
        retry_at = await uow.session.scalar(
            select(OutboxMessage.not_before).where(OutboxMessage.patient_id.is_not(None)))
    clock.set(retry_at + timedelta(seconds=45))
    assert (await sender.run_once()).sent == 1

    samples = parse(metrics.exposition().decode())
    deliveries = "clinicbot_outbox_deliveries_total"
    assert value(samples, deliveries, channel="sms", result="retried") == 1
    assert value(samples, deliveries, channel="sms", result="sent") == 1
    latency = "clinicbot_outbox_delivery_latency_seconds"
    assert value(samples, f"{latency}_count", channel="sms") == 1
    assert value(samples, f"{latency}_sum", channel="sms") == 45
    assert value(samples, f"{latency}_bucket", channel="sms", le="30.0") == 0
    assert value(samples, f"{latency}_bucket", channel="sms", le="60.0") == 1


def test_one_rows_counts_name_what_became_of_it_and_add_up():
    assert DeliveryCounts(held=1).result() == "held"
    assert DeliveryCounts().result() is None
    total = DeliveryCounts(sent=2)
    total.add(DeliveryCounts(sent=1, skipped=1))
    assert total == DeliveryCounts(sent=3, skipped=1)


def test_serve_logs_json_lines_and_serves_metrics(tmp_path, clinic_file_loaded):
    env = {**clinic_file_loaded, "CLINICBOT_LOG_FORMAT": "json"}
    url = f"http://127.0.0.1:{env['CLINICBOT_PORT']}"
    with subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            _wait_until_healthy(url, server)
            assert _text(url, "Good morning, clinic").status_code == 200
            response = httpx.get(f"{url}/metrics", timeout=10)
            server.send_signal(signal.SIGTERM)
            _, log = server.communicate(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    assert server.returncode == 0, log
    samples = parse(response.text)
    assert value(samples, "clinicbot_dialog_turns_total", channel="sms", outcome="answered") == 1
    assert value(samples, "clinicbot_outbox_messages", status="failed") == 0
    records = [json.loads(line) for line in log.splitlines()]
    loggers = {record["logger"] for record in records}
    assert {"bot.server", "bot.http", "uvicorn.error"} <= loggers
    assert "uvicorn.access" not in loggers
    [request] = [r for r in records if r["logger"] == "bot.http"]
    assert (request["method"], request["route"], request["status"]) == ("POST", "/sms/inbound",
                                                                        200)
    for private in (MAYA, "Good morning", "Maya"):
        assert private not in log


def test_metrics_are_kept_per_app():
    first, second = Metrics(), Metrics()
    first.dialog_turn("sms", "answered", 0.01)
    assert value(parse(first.exposition().decode()), "clinicbot_dialog_turns_total",
                 channel="sms", outcome="answered") == 1
    assert value(parse(second.exposition().decode()), "clinicbot_dialog_turns_total",
                 channel="sms", outcome="answered") is None


def bounded_label_values(samples: Samples, routes: set[str]) -> list[tuple[str, str, str]]:
    """Every (series, label, value) of the bot's own series that is not from its fixed set."""
    allowed = {**LABEL_VALUES, "route": frozenset(routes)}
    stray = []
    for name, pairs in samples:
        if not name.startswith("clinicbot_"):
            continue
        for label, text in pairs:
            if label == "le":  # a histogram's buckets: fixed by its declaration
                continue
            fixed = STATUSES if name == "clinicbot_outbox_messages" else allowed[label]
            if text not in fixed and text != OTHER:
                stray.append((name, label, text))
    return stray


# Methods an HTTP parser accepts (httptools knows a fixed list; anything else is a 400 before the
# app sees it) but the app has no series for: each must be counted as "other".
UNLISTED_METHODS = [
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "PURGE",
    "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE",
    "UNSUBSCRIBE", "ACL", "BIND", "UNBIND", "REBIND", "LINK", "UNLINK", "SOURCE", "TRACE",
]


async def flood(http: httpx.AsyncClient, round_: int, count: int) -> None:
    """``count`` requests with unlisted methods on real routes, scanned paths and odd ones."""
    paths = ["/sms/inbound", "/healthz", "/sms/status"]
    for i in range(count):
        path = paths[i % 3] if i % 2 else f"/scan{round_}/{i}.php?x={i}"
        method = UNLISTED_METHODS[(i + round_) % len(UNLISTED_METHODS)]
        response = await http.request(method, path)
        assert response.status_code in (404, 405), (method, path, response.status_code)
    made_up = await http.request(f"M{round_}X", "/sms/inbound")
    assert made_up.status_code in (400, 405), "a made-up method is refused"


async def test_made_up_methods_and_paths_add_no_series(twilio):
    """The issue: 20,000 made-up methods grew /metrics from 8 kB to 3.7 MB; now it stays put."""
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await scrape(twilio.http)  # so that /metrics' own series exist before the first count
    routes = {str(getattr(route, "path", "")) for route in
              create_app(twilio.settings, services=[]).routes}
    await flood(twilio.http, 1, 300)
    first = (await twilio.http.get("/metrics")).text
    await flood(twilio.http, 2, 300)
    second = (await twilio.http.get("/metrics")).text

    one, two = parse(first), parse(second)
    assert set(two) == set(one), "a second flood of new methods and paths added no series"
    assert len(second) < 20_000 and abs(len(second) - len(first)) < 200
    requests = "clinicbot_http_requests_total"
    assert value(two, requests, route="other", method="other", status="404") == 300
    assert value(two, requests, route="/sms/inbound", method="other", status="405") == 100
    assert value(two, requests, route="/sms/inbound", method="POST", status="200") == 1
    assert bounded_label_values(two, routes) == []
    assert not [text for _, pairs in two for _, text in pairs if "M2X" in text or "scan" in text]


def test_route_templates_are_kept_for_a_bounded_number_of_paths(twilio):
    app = create_app(twilio.settings, services=[])
    middleware = RequestMetrics(app, Metrics(), app.routes)

    def scope(path: str) -> dict[str, object]:
        return {"type": "http", "path": path, "root_path": "", "method": "POST"}

    assert middleware.template(scope("/sms/inbound")) == "/sms/inbound"
    for n in range(KNOWN_PATHS + 50):
        assert middleware.template(scope(f"/scan/{n}")) == "other"
    assert len(middleware._templates) == KNOWN_PATHS
    assert middleware.template(scope("/sms/status")) == "/sms/status", "matched, not kept"
    assert middleware.template(scope("/sms/inbound")) == "/sms/inbound"


async def test_serving_collects_young_objects_less_often_and_restores_it(clinic, database_url,
                                                                        clock):
    before = gc.get_threshold()
    async with sms_server(database_url, clock) as twilio:
        assert "Hi Maya" in await SmsPatient(twilio, MAYA).say("hi")
        young, *older = gc.get_threshold()
        assert young == max(before[0], YOUNG_OBJECTS) and tuple(older) == before[1:]
    assert gc.get_threshold() == before


def test_every_label_of_every_series_takes_values_from_a_fixed_set():
    metrics = Metrics()
    declared = {
        label for series in vars(metrics).values() if isinstance(series, MetricWrapperBase)
        for label in series._labelnames
    }
    assert declared == {*LABEL_VALUES, "route"}, "a new label needs its fixed set here"
    assert {"sms", "telegram", NO_CHANNEL} <= LABEL_VALUES["channel"]
    assert LABEL_VALUES["outcome"] == {ANSWERED, OPTED_OUT, FAILED}
    assert LABEL_VALUES["result"] == set(DELIVERY_RESULTS)
    for junk in ("carrier-pigeon", "SMS ", "x" * 500):  # whatever a caller might pass
        metrics.dialog_turn(junk, junk, 0.1)
        metrics.delivery(junk, junk)
        metrics.delivery_latency(junk, 1.0)
        metrics.http_request("other", junk, 299, 0.1)
        metrics.http_request("other", "PROPFIND", 999, 0.1)
    samples = parse(metrics.exposition().decode())
    assert bounded_label_values(samples, {"other"}) == []
    assert value(samples, "clinicbot_dialog_turns_total", channel="other", outcome="other") == 3
    assert value(samples, "clinicbot_http_requests_total",
                 route="other", method="other", status="other") == 6


async def test_a_stalled_event_loop_shows_in_the_lag_series(twilio):
    """The lag probe runs with the app: a 300 ms stall is seen in the histogram and the max."""
    await asyncio.sleep(0.1)  # a few samples of an idle loop
    before = await scrape(twilio.http)
    assert (value(before, "clinicbot_event_loop_lag_seconds_count") or 0) > 0
    assert (value(before, "clinicbot_event_loop_lag_max_seconds") or 1) < 0.25
    time.sleep(0.3)  # noqa: ASYNC251 - blocks the server's loop (it shares this one): the stall
    await asyncio.sleep(0.1)
    after = await scrape(twilio.http)
    stalls = [(value(when, "clinicbot_event_loop_lag_seconds_count") or 0)
              - (value(when, "clinicbot_event_loop_lag_seconds_bucket", le="0.25") or 0)
              for when in (before, after)]
    assert stalls == [0, 1], "one sample later than 250 ms"
    assert 0.25 <= (value(after, "clinicbot_event_loop_lag_max_seconds") or 0) < 1.0


async def test_the_schedulers_sweeps_and_sender_give_way_while_requests_flow(
        clinic, database_url, clock):
    """``serve``'s scheduler paces its sweeps and sender (bot.pacing) by the requests the HTTP
    middleware sees: idle, they only yield; once a webhook arrives, they pause after each step."""
    made: list[SchedulerService] = []

    def scheduler(runtime: Runtime) -> SchedulerService:
        made.append(SchedulerService.for_runtime(runtime))
        return made[-1]

    async with sms_server(database_url, clock, services=[scheduler]) as twilio:
        [service] = made
        assert service.pacing is not None and service.deliverer.pacing is service.pacing
        assert service.pacing.pause_for(0.03) == 0.0, "nobody talking yet: no pause"
        for probe in ("/healthz", METRICS_PATH):  # a monitor polling is nobody waiting
            assert (await twilio.http.get(probe)).status_code == 200
        assert not service.pacing.traffic.flowing()
        assert "Hi Maya" in await SmsPatient(twilio, MAYA).say("hi")
        assert service.pacing.traffic.flowing()
        assert service.pacing.pause_for(0.03) > 0.03, "a webhook came: sweeps give way"
