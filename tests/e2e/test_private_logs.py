"""No patient data in the logs: a whole SMS conversation under ``clinicbot serve``'s logging.

The real server runs on a loopback port (SQLite, and PostgreSQL when configured) with the log
set-up of ``clinicbot serve`` at INFO in JSON. A stranger registers by SMS with a name and a
birth date and books a session, and a known patient books and asks for her packages. Every log
record (a handler on the root logger sees each one) and every JSON line must be free of the
phone numbers, names, birth date and message texts -- while the request lines and the dialog's
own lines are there (the check is not vacuous).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from bot.observability.logs import configure_logging
from bot.storage.models import Appointment, Patient
from tests.dialogs.conftest import MAYA, STRANGER
from tests.e2e.sms_harness import SmsPatient, sms_server

LOGGERS = ("", "bot", "uvicorn", "uvicorn.error", "uvicorn.access")
FIRST, LAST, BORN = "Augusta", "Byronsdottir", "1990-12-10"
TEXTS = ("Hello there, I would like an appointment", "Please show my packages, thanks")


class Records(logging.Handler):
    """Keeps every record that reaches the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def serve_logging() -> Iterator[tuple[io.StringIO, Records, Callable[[], None]]]:
    """``install()`` sets up logging as ``clinicbot serve`` does; undone after the test."""
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers),
                    logging.getLogger(name).propagate) for name in LOGGERS}
    stream, records = io.StringIO(), Records()

    def install() -> None:
        configure_logging("info", "json", stream)
        logging.getLogger().addHandler(records)

    yield stream, records, install
    for name, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


async def test_a_registration_and_bookings_by_sms_log_no_patient_data(
    clinic, database_url, clock, make_uow, serve_logging
):
    stream, records, install = serve_logging
    async with sms_server(database_url, clock) as twilio:
        install()  # after uvicorn's own set-up, as `clinicbot serve` leaves it
        stranger = SmsPatient(twilio, STRANGER)
        assert "first name" in await stranger.say(TEXTS[0])
        await stranger.say(FIRST)
        await stranger.say(LAST)
        assert f"{FIRST} {LAST}" in await stranger.say(BORN)
        assert "You are registered" in await stranger.choose("Yes")
        await stranger.choose("Book an appointment")
        await stranger.choose("follow-up")
        await stranger.choose("East End")
        await stranger.choose("Fri 6 Nov")
        await stranger.choose("Morning")
        await stranger.choose("10:00 a.m.")
        assert "Booked for Fri 6 Nov, 10:00 a.m." in await stranger.choose("Confirm")

        maya = SmsPatient(twilio, MAYA)
        assert "Your packages" in await maya.say(TEXTS[1]), "a typed request is understood"
        assert "Hi Maya!" in await maya.say("MENU")
        await maya.choose("Book an appointment")
        await maya.choose("Maya")
        await maya.choose("Physio 5-pack")
        await maya.choose("Tue 3 Nov")
        await maya.choose("Morning")
        await maya.choose("10:00 a.m.")
        assert "Booked for Tue 3 Nov" in await maya.choose("Confirm")
        requests = 13 + 8  # the texts sent above

    async with make_uow() as uow:
        ada = await uow.session.scalar(select(Patient).where(Patient.phone == STRANGER))
        assert ada is not None and ada.first_name == FIRST
        booked = (await uow.session.scalars(select(Appointment))).all()
        assert len(booked) == 2

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    answered = [r for r in records.records if r.getMessage().startswith("sms inbound: answered")]
    http = [line for line in lines if line["logger"] == "bot.http"]
    assert len(answered) == requests and len(http) == requests
    assert {(line["route"], line["status"]) for line in http} == {("/sms/inbound", 200)}

    private = (MAYA, MAYA.lstrip("+"), STRANGER, STRANGER.lstrip("+"), FIRST, LAST, BORN,
               "Maya", "Chen", *TEXTS)
    for record in records.records:
        shown = json.dumps({**record.__dict__, "message": record.getMessage()}, default=str)
        for value in private:
            assert value not in shown, f"{value!r} logged by {record.name}: {record.msg!r}"
    for value in private:
        assert value not in stream.getvalue()
