"""``clinicbot serve``'s logs: one line per record on stderr, as text or as JSON.

:func:`configure_logging` installs one handler on the root logger. ``CLINICBOT_LOG_FORMAT``
chooses the line:

* ``text`` (default): ``2026-11-02T13:00:00.123+00:00 INFO bot.server: serving: ...``;
* ``json``: one object per line with ``time`` (ISO 8601, UTC), ``level``, ``logger``,
  ``message``, the record's extras (e.g. ``route``, ``status``, ``duration_ms`` of a request
  line) and ``exc_info`` for a traceback -- python-json-logger's ``JsonFormatter``.

Levels: our loggers (``bot.*``) and uvicorn's server log at the level asked for; every other
library stays at WARNING, so nothing logs a token-bearing URL (httpx, python-telegram-bot) at
INFO. uvicorn's access log is replaced by ``bot.http``'s request line (method, route template,
status, duration): it would log client addresses and query strings.

What we log at INFO never holds a message text, a phone number or a name (ids and counts only);
the tests check a whole SMS conversation against that.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LOG_FORMATS: Final = ("text", "json")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"  # in this order
JSON_NAMES: Final = {"asctime": "time", "levelname": "level", "name": "logger"}
DROPPED_EXTRAS: Final = ("color_message",)  # uvicorn's message again, with terminal colours
# Loggers that follow the level asked for; every other one inherits the root's WARNING.
OUR_LOGGERS: Final = ("bot", "uvicorn", "uvicorn.error")


def iso_utc(record: logging.LogRecord) -> str:
    """The record's time as ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """``TIME LEVEL logger: message`` with an ISO 8601 UTC time."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        del datefmt
        return iso_utc(record)


class JsonLinesFormatter(JsonFormatter):
    """One JSON object per record: time, level, logger, message, then the extras."""

    def __init__(self) -> None:
        super().__init__(JSON_FIELDS, rename_fields=dict(JSON_NAMES),
                         reserved_attrs=[*RESERVED_ATTRS, *DROPPED_EXTRAS])

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        del datefmt
        return iso_utc(record)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of ``CLINICBOT_LOG_FORMAT`` (``text`` or ``json``)."""
    if log_format == "json":
        return JsonLinesFormatter()
    if log_format == "text":
        return TextFormatter(TEXT_FORMAT)
    raise ValueError(f"the log format must be one of {', '.join(LOG_FORMATS)}")


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Send every record to ``stream`` (stderr) in ``log_format``; ``level`` for our loggers."""
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"the log level must be one of {', '.join(LOG_LEVELS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level.upper())
        logger.handlers.clear()  # uvicorn's own handlers, had its dictConfig run
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
