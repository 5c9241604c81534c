"""Guessing ``/staff CODE`` (issue 14, item 11): two instances of the server on one database,
through the real Application in webhook mode; a short code refused by ``clinicbot serve``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services import staff_code
from bot.storage.models import OutboxMessage, Staff
from tests.e2e.telegram_harness import STAFF_CODE, TgUser, telegram_server
from tests.e2e.test_sms_serve import _env, _serve
from tests.e2e.test_telegram_staff import DESK_CHAT, deliver_outbox

LOCKED = "Too many wrong staff codes"


async def test_wrong_codes_are_throttled_per_chat_and_overall_across_instances(
    clinic, database_url, clock, make_uow, engine
):
    async with (
        telegram_server(database_url, clock, mode="webhook") as one,
        telegram_server(database_url, clock, mode="webhook") as two,
    ):
        guesser = [TgUser(one, 9001, "Eve"), TgUser(two, 9001, "Eve")]
        for attempt in range(staff_code.CHAT_FAILURES - 1):
            assert "not right" in await guesser[attempt % 2].say("/staff guess-0000000")
        assert LOCKED in await guesser[1].say("/staff guess-0000000")
        assert LOCKED in await guesser[0].say(f"/staff {STAFF_CODE}"), "not even the right one"
        async with make_uow() as uow:
            alerts = (await uow.session.execute(select(
                OutboxMessage.staff_id, OutboxMessage.params).where(
                OutboxMessage.kind == staff_code.LOCKED_ALERT))).all()
            desk = await uow.session.scalar(select(Staff.id).where(Staff.key == "desk"))
        assert [(staff_id, params["scope"]) for staff_id, params in alerts] == [(desk, "chat")]
        start = len(one.standin.calls)
        await deliver_outbox(one, engine, clock)
        told = await one.wait_for(lambda c: c.chat_id == DESK_CHAT, after=start)
        assert "wrong staff codes" in told.text and "9001" in told.text

        left = staff_code.ALL_FAILURES - staff_code.CHAT_FAILURES
        chat = 9100
        while left:
            for _ in range(min(left, staff_code.CHAT_FAILURES - 1)):
                reply = await TgUser(one if chat % 2 else two, chat, "Bot").say("/staff nope-00000")
                left -= 1
                assert ("not right" in reply) == bool(left), reply
            chat += 1
        ana = TgUser(two, 8002, "Ana")
        assert LOCKED in await ana.say(f"/staff {STAFF_CODE}"), "locked for everyone"
        clock.set(clock.now() + staff_code.LOCKOUT + timedelta(minutes=1))
        assert "Which staff member are you?" in await ana.say(f"/staff {STAFF_CODE}")
        assert "Which staff member" in await guesser[0].say(f"/staff {STAFF_CODE}")
    async with make_uow() as uow:
        scopes = (await uow.session.scalars(select(OutboxMessage.params).where(
            OutboxMessage.kind == staff_code.LOCKED_ALERT))).all()
    assert sorted(p["scope"] for p in scopes) == ["all", "chat"]


def test_serve_refuses_a_short_staff_code(tmp_path):
    short = "guessable12"  # 11 characters
    done = _serve(_env(tmp_path, CLINICBOT_STAFF_CODE=short), tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "CLINICBOT_STAFF_CODE" in lines[0], done.stderr
    assert "12 characters" in lines[0]
    assert short not in done.stderr + done.stdout
    assert not (tmp_path / "clinic.db").exists(), "nothing was opened"
