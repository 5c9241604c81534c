"""The HTTP side of operating the bot: ``GET /metrics`` and one log line and sample per request.

:class:`RequestMetrics` is an ASGI middleware that times every HTTP request, counts it in
:class:`~bot.observability.metrics.Metrics` under its route *template* (a path no route matches
counts as ``other``, and so does a method that is not one of the usual seven, so scanners cannot
blow up the series), and logs one line on the ``bot.http`` logger: method, route, status and
duration, as fields of a JSON log line. It replaces uvicorn's access log, which carries the
client address and the raw query string. Probes (``/healthz``, ``/metrics``) are logged at
DEBUG, everything else at INFO. Every request but a probe tells the pacing of background work
(:mod:`bot.pacing`) that requests are flowing.

:func:`metrics_endpoint` answers the registry in Prometheus' text format, after reading the
outbox counts from the database (bounded by a timeout). It is meant for Prometheus scraping each
instance directly: the reverse proxy must not expose it (see ``deploy/nginx.conf``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.observability.metrics import Metrics, known

if TYPE_CHECKING:
    from bot.server import Runtime

log = logging.getLogger("bot.http")
METRICS_PATH: Final = "/metrics"
PROBES: Final = frozenset({"/healthz", METRICS_PATH})
UNMATCHED: Final = "other"
KNOWN_PATHS: Final = 1024  # paths whose route template is kept (beyond: matched every time)
# Prometheus' classic text format, which every Prometheus version reads; our names need none of
# format 1.0.0's escaping (prometheus_client >= 0.22 calls 1.0.0 "latest").
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


async def metrics_endpoint(request: Request) -> Response:
    """The server's series; the outbox ones as the database has them now."""
    runtime: Runtime = request.state.runtime
    await runtime.metrics.read_outbox(runtime.db, runtime.clock)
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE)


class RequestMetrics:
    """ASGI middleware: counts, times and logs each request by its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = list(routes)
        self._templates: dict[tuple[str, str], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if scope.get("path") not in PROBES:  # a monitor polling is nobody waiting
            self.metrics.traffic.seen()  # background work gives way while requests flow
        status = 500  # unless a response starts: an error no one answered

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            seconds = time.perf_counter() - started
            route = self.template(scope)
            method = known("method", str(scope.get("method", "")))  # a made-up one: "other"
            self.metrics.http_request(route, method, status, seconds)
            log.log(
                logging.DEBUG if route in PROBES else logging.INFO,
                "%s %s %d %.1fms", method, route, status, seconds * 1000,
                extra={"method": method, "route": route, "status": status,
                       "duration_ms": round(seconds * 1000, 1)},
            )

    def template(self, scope: Scope) -> str:
        """The path template of the route the request matches (``other`` if none); the first
        :data:`KNOWN_PATHS` paths' templates are kept (a template depends on the path alone:
        a route that matches but not the method still names it)."""
        path = (str(scope.get("root_path", "")), str(scope.get("path", "")))
        found = self._templates.get(path)
        if found is None:
            found = self._match(scope)
            if len(self._templates) < KNOWN_PATHS:
                self._templates[path] = found
        return found

    def _match(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "path", UNMATCHED))
        return UNMATCHED
