"""The Prometheus series of one server, in a registry of its own.

:class:`Metrics` owns a ``CollectorRegistry`` (never the process-wide default one, so several
apps -- tests build many in one process -- keep separate counts) and the series:

* ``clinicbot_http_requests_total{route,method,status}`` and
  ``clinicbot_http_request_duration_seconds{route}`` -- ``route`` is the route's template
  (``/sms/inbound``), ``other`` for a path no route matches; never the raw path;
* ``clinicbot_dialog_turns_total{channel,outcome}`` and
  ``clinicbot_dialog_turn_duration_seconds{channel}`` (outcomes: :mod:`bot.observability.hooks`);
* ``clinicbot_outbox_deliveries_total{channel,result}`` and
  ``clinicbot_outbox_delivery_latency_seconds{channel}`` (sent time minus the time the message
  was due, i.e. its ``not_before`` when it went out: quiet hours and retry backoff move that);
* ``clinicbot_outbox_messages{status}`` and ``clinicbot_outbox_oldest_due_seconds`` -- read from
  the database at scrape time (:meth:`Metrics.read_outbox`), so they describe the whole clinic,
  not this instance: aggregate them across instances with ``max``, not ``sum``. A database that
  does not answer within :data:`OUTBOX_READ_SECONDS` leaves them out of that scrape (rather
  than report stale numbers) and counts ``clinicbot_outbox_read_errors_total``;
* ``clinicbot_event_loop_lag_seconds`` (histogram) and ``clinicbot_event_loop_lag_max_seconds``
  (the longest lag of the last one to two minutes): how late the event loop woke the lag
  probe's task (:mod:`bot.observability.lag`); a stall of every request shows up here;
* the ``process_*`` series of ``prometheus_client`` (CPU, memory, open files).

:class:`Metrics` is a :class:`~bot.observability.hooks.TurnObserver`, a
:class:`~bot.observability.hooks.DeliveryObserver` and a
:class:`~bot.observability.lag.LagObserver`. Labels only ever hold route templates,
methods, status codes, channel names and outcomes: no patient data. Every label takes its values
from a fixed set (:data:`LABEL_VALUES`; routes: the app's templates) and anything else is
counted as ``other``, so no request (a made-up method, a scanner's paths) adds a series.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.delivery.queue import STATUSES
from bot.observability.hooks import ANSWERED, DELIVERY_RESULTS, FAILED, NO_CHANNEL, OPTED_OUT
from bot.pacing import Traffic
from bot.storage.models import OutboxMessage
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
OUTBOX_READ_SECONDS: Final = 2.0
# Seconds late: on time (a pass every 15 s), a scheduler interval or two, quiet hours.
LATENCY_BUCKETS: Final = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0,
                          4 * 3600.0, 12 * 3600.0)
# Seconds the event loop woke the lag probe late: idle, busy, near issue 15's 50 ms bound (so a
# histogram alone tells a 30 ms turn of a busy loop from a 50 ms one), a stall users feel, a
# frozen loop.
LAG_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.04, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                      5.0, 10.0)

OTHER: Final = "other"
# The values each label may take; anything else is counted as OTHER. Routes are the app's
# templates (see http.py); the outbox's ``status`` is one of the outbox's STATUSES.
LABEL_VALUES: Final[dict[str, frozenset[str]]] = {
    "method": frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"}),
    "status": frozenset(str(code.value) for code in HTTPStatus),
    "channel": frozenset({"sms", "telegram", NO_CHANNEL}),
    "outcome": frozenset({ANSWERED, OPTED_OUT, FAILED}),
    "result": frozenset(DELIVERY_RESULTS),
}


def known(label: str, value: str) -> str:
    """``value`` if ``label`` may take it, else ``other``."""
    return value if value in LABEL_VALUES[label] else OTHER


class Metrics:
    """One server's series (see the module docstring); the hooks the engine and sender call."""

    def __init__(self, outbox_read_seconds: float = OUTBOX_READ_SECONDS) -> None:
        self.outbox_read_seconds = outbox_read_seconds
        self.traffic = Traffic()  # when the last request came (bot.pacing)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        registry = self.registry
        self.http_requests = Counter(
            "clinicbot_http_requests", "HTTP requests answered, by route template and status.",
            ["route", "method", "status"], registry=registry,
        )
        self.http_duration = Histogram(
            "clinicbot_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["route"], registry=registry,
        )
        self.dialog_turns = Counter(
            "clinicbot_dialog_turns", "Dialog turns (one inbound message each), by outcome.",
            ["channel", "outcome"], registry=registry,
        )
        self.dialog_duration = Histogram(
            "clinicbot_dialog_turn_duration_seconds", "Time the dialog engine took for a turn.",
            ["channel"], registry=registry,
        )
        self.deliveries = Counter(
            "clinicbot_outbox_deliveries", "Outbox rows handled by this instance's sender.",
            ["channel", "result"], registry=registry,
        )
        self.delivery_latencies = Histogram(
            "clinicbot_outbox_delivery_latency_seconds",
            "Seconds between a message being due and being accepted by its channel.",
            ["channel"], buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.loop_lag = Histogram(
            "clinicbot_event_loop_lag_seconds",
            "How late the event loop woke the lag probe (sampled every 25 ms).",
            buckets=LAG_BUCKETS, registry=registry,
        )
        self.loop_lag_max = Gauge(
            "clinicbot_event_loop_lag_max_seconds",
            "The longest event-loop lag of the last one to two minutes.", registry=registry,
        )
        self.outbox = OutboxSnapshot()
        registry.register(self.outbox)
        self.outbox_read_errors = Counter(
            "clinicbot_outbox_read_errors",
            "Scrapes whose outbox counts could not be read in time.", registry=registry,
        )

    # -- hooks (TurnObserver, DeliveryObserver) and the HTTP middleware ----------------------

    def _series(self, metric: MetricWrapperBase, *values: str) -> Any:
        """``metric.labels(*values)``, looked up once (every label's values are bounded: routes
        are templates, the rest :func:`known`), since every message and request counts."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def dialog_turn(self, channel: str, outcome: str, seconds: float) -> None:
        channel = known("channel", channel)
        self._series(self.dialog_turns, channel, known("outcome", outcome)).inc()
        self._series(self.dialog_duration, channel).observe(seconds)

    def delivery(self, channel: str, result: str) -> None:
        result = known("result", result)
        self.deliveries.labels(channel=known("channel", channel), result=result).inc()

    def delivery_latency(self, channel: str, seconds: float) -> None:
        self.delivery_latencies.labels(channel=known("channel", channel)).observe(max(0.0, seconds))

    def event_loop_lag(self, seconds: float, recent_max: float) -> None:
        """A sample of the lag probe (a :class:`~bot.observability.lag.LagObserver`)."""
        self.loop_lag.observe(seconds)
        self.loop_lag_max.set(recent_max)

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count a request; ``route`` must be a template or ``other`` (the middleware's job)."""
        self._series(self.http_requests, route, known("method", method),
                     known("status", str(status))).inc()
        self._series(self.http_duration, route).observe(seconds)

    # -- scrape time -------------------------------------------------------------------------

    async def read_outbox(self, db: AsyncEngine, clock: Clock) -> bool:
        """Refresh the outbox series from the database; ``False`` (series left out) on failure.

        Bounded by :attr:`outbox_read_seconds`, so a slow database cannot hang the scrape.
        """
        try:
            async with asyncio.timeout(self.outbox_read_seconds):
                async with UnitOfWork(db, clock, readonly=True) as uow:
                    rows = (await uow.session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    )).all()
                    now = uow.clock.now()
                    oldest = await uow.session.scalar(
                        select(func.min(OutboxMessage.not_before)).where(
                            OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
                    )
        except Exception as exc:
            log.warning("metrics: the outbox could not be read (%s)", type(exc).__name__)
            self.outbox.counts = None
            self.outbox_read_errors.inc()
            return False
        counts = {status: 0 for status in STATUSES}
        for status, n in rows:
            key = str(status) if status in STATUSES else OTHER
            counts[key] = counts.get(key, 0) + int(n)
        self.outbox.counts = counts
        self.outbox.oldest_due = 0.0 if oldest is None else (now - oldest).total_seconds()
        return True

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (version 0.0.4)."""
        return generate_latest(self.registry)


class OutboxSnapshot:
    """A collector of the outbox as last read at scrape time; nothing when the read failed."""

    def __init__(self) -> None:
        self.counts: dict[str, int] | None = None
        self.oldest_due = 0.0

    def describe(self) -> Iterator[Metric]:
        yield from self._families({}, 0.0)

    def collect(self) -> Iterator[Metric]:
        if self.counts is not None:
            yield from self._families(self.counts, self.oldest_due)

    @staticmethod
    def _families(counts: dict[str, int], oldest_due: float) -> Iterator[Metric]:
        by_status = GaugeMetricFamily(
            "clinicbot_outbox_messages", "Outbox rows by status (the whole database).",
            labels=["status"],
        )
        for status, n in counts.items():
            by_status.add_metric([status], n)
        yield by_status
        yield GaugeMetricFamily(
            "clinicbot_outbox_oldest_due_seconds",
            "How long the oldest due, still pending outbox row has waited (0 when none).",
            value=oldest_due,
        )
