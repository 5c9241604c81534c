"""uvicorn's server as ``clinicbot serve`` runs it (loaded only when the server starts).

:meth:`Server.run` sets up the event loop as the config says (``loop="auto"``: uvloop where it
is installed, else asyncio's) and the HTTP parser likewise (httptools, else h11); the start-up
log line says which were picked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Generator

import uvicorn

log = logging.getLogger(__name__)


class Server(uvicorn.Server):
    """uvicorn's server; a handled SIGTERM/SIGINT ends :meth:`serve` normally.

    (uvicorn re-raises the signal after its graceful shutdown, which would end the command
    with a traceback or a signal status instead of exit 0.)
    """

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("server: event loop %s, HTTP parser %s", loop_name(), parser_name(self.config))
        await super().startup(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def loop_name() -> str:
    """The running event loop's library: ``uvloop`` or ``asyncio``."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def parser_name(config: uvicorn.Config) -> str:
    """The HTTP parser uvicorn loaded: ``httptools`` or ``h11``."""
    protocol = getattr(config, "http_protocol_class", None)
    module = getattr(protocol, "__module__", "")
    return module.rsplit(".", 1)[-1].removesuffix("_impl") or "unknown"
