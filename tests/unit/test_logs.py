"""``clinicbot serve``'s log set-up: JSON lines that parse, levels, no library chatter at INFO."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta

import pytest

from bot.observability.logs import configure_logging
from bot.settings import SettingsError, load_settings

LOGGERS = ("", "bot", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx")  # all it touches


@pytest.fixture
def restore_logging():
    """configure_logging changes process-wide loggers: put them back after the test."""
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers),
                    logging.getLogger(name).propagate) for name in LOGGERS}
    yield
    for name, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_time_level_logger_message_and_extras(restore_logging):
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    before = datetime.now().astimezone()
    logging.getLogger("bot.http").info("POST %s %d", "/sms/inbound", 200,
                                       extra={"route": "/sms/inbound", "status": 200})
    logging.getLogger("uvicorn.error").info("Started server process",
                                            extra={"color_message": "\x1b[36mStarted\x1b[0m"})
    [request, uvicorn] = [json.loads(line) for line in lines(stream)]
    assert list(request)[:4] == ["time", "level", "logger", "message"]
    assert request == {**request, "level": "INFO", "logger": "bot.http",
                       "message": "POST /sms/inbound 200", "route": "/sms/inbound",
                       "status": 200}
    stamped = datetime.fromisoformat(request["time"])
    assert stamped.utcoffset() == timedelta(0), "UTC"
    assert abs(stamped - before) < timedelta(seconds=5)
    assert uvicorn["logger"] == "uvicorn.error" and "color_message" not in uvicorn


def test_a_traceback_stays_inside_its_json_line(restore_logging):
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    try:
        raise RuntimeError("kaputt")
    except RuntimeError:
        logging.getLogger("bot.server").exception("request failed")
    [line] = lines(stream)
    record = json.loads(line)
    assert record["level"] == "ERROR" and record["message"] == "request failed"
    assert "Traceback" in record["exc_info"] and "RuntimeError" in record["exc_info"]


def test_levels_our_loggers_follow_libraries_stay_at_warning(restore_logging):
    stream = io.StringIO()
    configure_logging("info", "text", stream)
    logging.getLogger("bot.scheduler").info("scheduler started")
    logging.getLogger("bot.scheduler").debug("a detail")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot123:ABC/x")
    logging.getLogger("httpx").warning("a library warning")
    logging.getLogger("uvicorn.access").info('127.0.0.1:5000 - "GET /x?phone=+1416 HTTP/1.1" 200')
    text = lines(stream)
    assert [line.split(" ", 1)[1] for line in text] == [
        "INFO bot.scheduler: scheduler started", "WARNING httpx: a library warning"]
    assert datetime.fromisoformat(text[0].split(" ", 1)[0]).utcoffset() == timedelta(0)

    debug = io.StringIO()
    configure_logging("debug", "text", debug)
    logging.getLogger("bot.scheduler").debug("a detail")
    logging.getLogger("httpx").debug("HTTP Request: GET https://api.telegram.org/bot123:ABC/x")
    assert [line.split(" ", 1)[1] for line in lines(debug)] == ["DEBUG bot.scheduler: a detail"]
    assert stream.getvalue().count("\n") == 2, "the earlier handler was replaced, not kept"


def test_a_bad_level_or_format_is_refused(restore_logging):
    with pytest.raises(ValueError, match="log level"):
        configure_logging("verbose", "text")
    with pytest.raises(ValueError, match="log format"):
        configure_logging("info", "xml")


def test_the_log_format_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env file
    monkeypatch.delenv("CLINICBOT_LOG_FORMAT", raising=False)
    assert load_settings().log_format == "text"
    monkeypatch.setenv("CLINICBOT_LOG_FORMAT", " JSON ")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("CLINICBOT_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="CLINICBOT_LOG_FORMAT"):
        load_settings()
