"""uvicorn's server as ``clinicbot serve`` runs it (loaded only when the server starts)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Generator

import uvicorn


class Server(uvicorn.Server):
    """uvicorn's server; a handled SIGTERM/SIGINT ends :meth:`serve` normally.

    (uvicorn re-raises the signal after its graceful shutdown, which would end the command
    with a traceback or a signal status instead of exit 0.)
    """

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
