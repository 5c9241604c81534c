"""The console's inbox (``/desk/messages``), audit log (``/desk/audit``) and staff page
(``/desk/staff``) over HTTP against the real app on SQLite and PostgreSQL (the ``console``
fixture of ``test_desk_core``): listing and paging, a reply queued to the patient's channel and
refused for an opted-out patient, Handled / Not handled shared by all staff (two at once: one
wins), the audit entries of each action, passwords and chats, and every role refused.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.services import audit, inbox, messages, noshows, outbox
from bot.storage.models import AuditEntry, InboxItem, OutboxMessage, Staff
from tests.e2e.test_desk_core import PASSWORDS, Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import book, local, patient

PATH = "/desk/messages"
QUESTION = "Can I come at 3 pm on Tuesday instead?"


async def said(console: Console, key: str, text: str, *, minutes: int = 1) -> int:
    """``key`` sends ``text`` with "Talk to the clinic" ``minutes`` later; the item's id."""
    console.clock.advance(timedelta(minutes=minutes))
    async with console.uow() as uow:
        who = await patient(uow, key)
        await messages.pass_to_clinic(uow, patient_id=who.id, text=text, channel="sms")
        await uow.commit()
    async with console.uow(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.max(InboxItem.id))))


@dataclass
class State:
    handled_at: datetime | None
    handled_by: str | None


async def item_of(console: Console, item_id: int) -> State:
    async with console.uow(readonly=True) as uow:
        item = await inbox.get_item(uow, item_id)
        return State(item.handled_at, item.handled_by)


async def actions(console: Console, staff: str) -> list[tuple[str, str]]:
    async with console.uow(readonly=True) as uow:
        return [(a, f) for a, f in await uow.session.execute(
            select(AuditEntry.action, AuditEntry.face).where(AuditEntry.staff == staff)
            .order_by(AuditEntry.id))]


async def post(http: httpx.AsyncClient, path: str, page: str = PATH, **data: str
               ) -> httpx.Response:
    return await http.post(path, data={"csrf_token": csrf_of(await http.get(page)), **data})


async def test_the_inbox_lists_waiting_items_newest_first_and_filters(console: Console) -> None:
    first = await said(console, "maya", "First question")
    second = await said(console, "sofia", "Second <b>question</b>")
    async with console.uow() as uow:
        await inbox.mark_handled(uow, first, by="ana")
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(PATH)
        assert page.status_code == 200
        assert ">Messages<" in page.text and f'href="{PATH}/{second}"' in page.text
        assert "Second &lt;b&gt;question&lt;/b&gt;" in page.text  # escaped
        assert "First question" not in page.text
        handled = await http.get(PATH, params={"state": "handled"})
        assert "First question" in handled.text and "handled by ana" in handled.text
        assert "Second" not in handled.text
        everything = (await http.get(PATH, params={"state": "all"})).text
        assert everything.index("Second") < everything.index("First question")
        bad = await http.get(PATH, params={"after": "nonsense"})
        assert bad.status_code == 400 and "is not a page token" in bad.text


async def test_the_inbox_pages_without_skipping_anything(console: Console) -> None:
    ids = [await said(console, "maya", f"Question number {n}") for n in range(30)]
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(PATH)
        seen = set(map(int, re.findall(r'href="/desk/messages/(\d+)"', page.text)))
        more = re.search(r'href="([^"]+)" rel="next"', page.text)
        assert more is not None and len(seen) == 25
        rest = await http.get(more.group(1).replace("&amp;", "&"))
        seen |= set(map(int, re.findall(r'href="/desk/messages/(\d+)"', rest.text)))
        assert 'rel="next"' not in rest.text and "First page" in rest.text
    assert seen == set(ids)


async def test_a_reply_is_queued_to_the_patient_marks_handled_and_is_audited(
        console: Console) -> None:
    item_id = await said(console, "maya", QUESTION)
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"{PATH}/{item_id}")
        assert page.status_code == 200
        assert QUESTION in page.text and "Maya Chen" in page.text and ">SMS<" in page.text
        assert '<label for="reply-text">' in page.text
        empty = await post(http, f"{PATH}/{item_id}/reply", f"{PATH}/{item_id}", text="   ")
        assert empty.status_code == 400 and "the reply is empty" in empty.text
        sent = await post(http, f"{PATH}/{item_id}/reply", f"{PATH}/{item_id}",
                          text="Yes, 3 pm works.")
        assert sent.status_code == 303
        shown = await http.get(sent.headers["location"])
        assert "The reply is on its way" in shown.text and "Yes, 3 pm works." in shown.text
        assert "handled by desk" in shown.text
    async with console.uow(readonly=True) as uow:
        maya = await patient(uow, "maya")
        queued = (await uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == inbox.STAFF_REPLY))).all()
        assert [(q.patient_id, q.params["staff"]) for q in queued] == [(maya.id, "desk")]
    assert (await item_of(console, item_id)).handled_by == "desk"
    assert await actions(console, "desk") == [("inbox.reply", "console")]


async def test_a_reply_to_an_opted_out_patient_is_refused_and_sends_nothing(
        console: Console) -> None:
    item_id = await said(console, "maya", QUESTION)
    async with console.uow() as uow:
        (await patient(uow, "maya")).opted_out = True
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"{PATH}/{item_id}")
        assert "Nobody can receive a reply" in page.text
        refused = await post(http, f"{PATH}/{item_id}/reply", f"{PATH}/{item_id}",
                             text="Hello")
        assert refused.status_code == 400
        assert "Nothing was sent" in refused.text and "opted out" in refused.text
        assert "Hello</textarea>" in refused.text  # the draft is kept
    async with console.uow(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == inbox.STAFF_REPLY)) == 0
    assert (await item_of(console, item_id)).handled_at is None
    assert await actions(console, "desk") == []


async def test_a_staff_alert_reads_as_sent_and_one_about_nobody_has_no_reply_form(
        console: Console) -> None:
    async with console.uow() as uow:
        appointment = await book(uow, "maya", local(2026, 11, 3, 10))
        console.clock.set(appointment.ends_at)
        await noshows.mark_no_show(uow, appointment.id, by="ana")
        await outbox.alert_staff(uow, alert="desk_login_locked", purpose="test:locked",
                                 params={"who": "ana", "scope": "user", "minutes": 15})
        await uow.commit()
    async with console.uow(readonly=True) as uow:
        found = {i.kind: i.id for i in (await uow.session.scalars(select(InboxItem))).all()}
    async with console.client() as http:
        await log_in(http, "mia")
        listed = await http.get(PATH)
        assert f'href="{PATH}/{found["no_show"]}"' in listed.text and "No-show" in listed.text
        page = await http.get(f"{PATH}/{found['no_show']}")
        assert page.status_code == 200 and "Maya Chen" in page.text
        assert "staff alert" in page.text and "no-show" in page.text.lower()
        nobody = await http.get(f"{PATH}/{found['desk_login_locked']}")
        assert nobody.status_code == 200 and "none (a staff alert)" in nobody.text
        assert 'name="text"' not in nobody.text
        refused = await post(http, f"{PATH}/{found['desk_login_locked']}/reply", PATH,
                             text="Hello")
        assert refused.status_code == 400 and "there is nobody to reply to" in refused.text
        missing = await http.get(f"{PATH}/999999")
        assert missing.status_code == 404 and "there is no inbox item 999999" in missing.text


async def test_handled_and_not_handled_are_shared_and_two_staff_at_once_make_one(
        console: Console) -> None:
    item_id = await said(console, "maya", QUESTION)

    async def mark(key: str) -> httpx.Response:
        async with console.client() as http:
            await log_in(http, key)
            page = await http.get(f"{PATH}/{item_id}")
            return await http.post(f"{PATH}/{item_id}/handled",
                                   data={"csrf_token": csrf_of(page)})

    answers = await asyncio.gather(mark("desk"), mark("mia"))
    assert all(a.status_code == 303 for a in answers)
    outcomes = sorted(a.headers["location"].split("done=")[1] for a in answers)
    assert outcomes == ["handled", "unchanged"]
    handler = (await item_of(console, item_id)).handled_by
    assert handler in ("desk", "mia")
    assert [a for a, _ in await actions(console, "desk") + await actions(console, "mia")] == [
        "inbox.handled"]
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"{PATH}/{item_id}")
        assert f"handled by {handler}" in page.text and ">Not handled<" in page.text
        back = await post(http, f"{PATH}/{item_id}/unhandled", f"{PATH}/{item_id}")
        assert back.status_code == 303 and back.headers["location"].endswith("done=waiting")
        assert "It waits for the desk again." in (await http.get(back.headers["location"])).text
    assert (await item_of(console, item_id)).handled_at is None
    assert ("inbox.unhandled", "console") in await actions(console, "desk")


async def test_each_role_is_refused_where_it_should_be(console: Console) -> None:
    item_id = await said(console, "maya", QUESTION)
    async with console.client() as http:
        await log_in(http, "ana")  # a practitioner: their schedule, not the inbox
        for path in (PATH, f"{PATH}/{item_id}", "/desk/audit", "/desk/staff"):
            refused = await http.get(path)
            assert refused.status_code == 403 and "may not open this page" in refused.text
        token = csrf_of(await http.get("/desk/today"))
        for path in (f"{PATH}/{item_id}/reply", f"{PATH}/{item_id}/handled",
                     f"{PATH}/{item_id}/unhandled", "/desk/staff/desk/password",
                     "/desk/staff/desk/revoke-chat"):
            refused = await http.post(path, data={"csrf_token": token, "text": "Hi",
                                                  "password": "x" * 12, "repeat": "x" * 12,
                                                  "confirm": "yes"})
            assert refused.status_code == 403, path
    async with console.client() as http:
        await log_in(http, "desk")  # reception: the inbox, not the manager's pages
        token = csrf_of(await http.get(PATH))
        for path in ("/desk/audit", "/desk/staff"):
            assert (await http.get(path)).status_code == 403
        for path in ("/desk/staff/ana/password", "/desk/staff/desk/revoke-chat"):
            refused = await http.post(path, data={"csrf_token": token, "password": "x" * 12,
                                                  "repeat": "x" * 12, "confirm": "yes"})
            assert refused.status_code == 403, path
        home = await http.get("/desk/")
        assert 'href="/desk/staff"' not in home.text and 'href="/desk/audit"' not in home.text
    async with console.uow(readonly=True) as uow:
        assert (await inbox.get_item(uow, item_id)).handled_at is None
        desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
        assert desk is not None and desk.telegram_chat_id is not None
        assert await uow.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    async with console.client() as http:
        await log_in(http, "mia")
        home = await http.get("/desk/")
        assert 'href="/desk/staff"' in home.text and 'href="/desk/audit"' in home.text
        for path in (PATH, "/desk/audit", "/desk/staff"):
            assert (await http.get(path)).status_code == 200


async def test_the_audit_log_shows_who_what_when_and_the_money_it_changed(
        console: Console) -> None:
    async with console.uow() as uow:
        appointment = await book(uow, "maya", local(2026, 11, 3, 10))
        await uow.commit()
    console.clock.set(local(2026, 11, 3, 10, 5))
    async with console.client() as http:
        await log_in(http, "desk")
        arrived = await post(http, f"/desk/today/{appointment.id}/arrive", "/desk/today")
        assert arrived.status_code == 303
    item_id = await said(console, "maya", QUESTION)
    async with console.uow() as uow:
        await inbox.mark_handled(uow, item_id, by="ana", actor=audit.Actor("ana", "cli"))
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get("/desk/audit")
        assert page.status_code == 200
        text = page.text
        assert text.index("inbox.handled") < text.index("appointment.arrive")  # newest first
        assert "(console)" in text and "(command line)" in text
        assert f'href="/desk/appointments/{appointment.id}"' in text
        assert "appointment status: booked → arrived" in text
        mine = await http.get("/desk/audit", params={"staff": "ana"})
        assert "inbox.handled" in mine.text and "appointment.arrive" not in mine.text
        only = await http.get("/desk/audit", params={"action": "appointment.arrive"})
        assert "appointment.arrive" in only.text and "inbox.handled" not in only.text
        none = await http.get("/desk/audit", params={"action": "package.refund"})
        assert "No staff actions match." in none.text


async def test_the_audit_log_pages(console: Console) -> None:
    async with console.uow() as uow:
        for n in range(55):
            console.clock.advance(timedelta(seconds=1))
            seen = await audit.watch(uow, audit.Actor("desk", "cli"))
            await seen.record("test.action", summary=f"number {n}")
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get("/desk/audit")
        assert page.text.count("test.action") == 50 and "number 54" in page.text
        more = re.search(r'href="([^"]+)" rel="next"', page.text)
        assert more is not None
        rest = await http.get(more.group(1).replace("&amp;", "&"))
        assert rest.text.count("test.action") == 5 and "number 0<" in rest.text
        assert 'rel="next"' not in rest.text
        bad = await http.get("/desk/audit", params={"after": "x"})
        assert bad.status_code == 400 and "is not a page token" in bad.text


async def test_a_manager_sets_a_password_which_ends_sessions_and_is_audited(
        console: Console) -> None:
    async with console.client() as ana:
        await log_in(ana, "ana")
        assert (await ana.get("/desk/today")).status_code == 200
        async with console.client() as http:
            await log_in(http, "mia")
            page = await http.get("/desk/staff")
            assert page.status_code == 200
            for shown in ("Front desk", "Ana Silva", "Mia Manager", "practitioner", "linked"):
                assert shown in page.text
            assert '<label for="password-1">' in page.text
            differ = await post(http, "/desk/staff/ana/password", "/desk/staff",
                                password="a-new-password-1", repeat="a-new-password-2")
            assert differ.status_code == 400 and "The two passwords differ" in differ.text
            short = await post(http, "/desk/staff/ana/password", "/desk/staff",
                               password="short", repeat="short")
            assert short.status_code == 400 and "too short" in short.text
            nobody = await post(http, "/desk/staff/nobody/password", "/desk/staff",
                                password="a-new-password-1", repeat="a-new-password-1")
            assert nobody.status_code == 404
            done = await post(http, "/desk/staff/ana/password", "/desk/staff",
                              password="a-new-password-1", repeat="a-new-password-1")
            assert done.status_code == 303
            shown = await http.get(done.headers["location"])
            assert "Password set for ana" in shown.text
            assert "a-new-password-1" not in shown.text
        assert (await ana.get("/desk/today")).status_code == 303  # ana's session ended
    async with console.client() as ana:
        assert (await log_in(ana, "ana", "a-new-password-1")).status_code == 303
        assert (await log_in(ana, "ana", PASSWORDS["ana"])).status_code == 200
    async with console.uow(readonly=True) as uow:
        entries = (await uow.session.scalars(select(AuditEntry))).all()
        assert [(e.staff, e.face, e.action, e.summary) for e in entries] == [
            ("mia", "console", "staff.password", "console password of staff ana set")]


async def test_a_manager_setting_their_own_password_logs_in_again(console: Console) -> None:
    async with console.client() as http:
        await log_in(http, "mia")
        done = await post(http, "/desk/staff/mia/password", "/desk/staff",
                          password="mia-new-password", repeat="mia-new-password")
        assert done.status_code == 303 and done.headers["location"] == "/desk/login"
        assert (await http.get("/desk/staff")).status_code == 303


async def test_revoke_chat_asks_first_then_takes_the_chat_off(console: Console) -> None:
    async with console.client() as http:
        await log_in(http, "mia")
        asked = await post(http, "/desk/staff/desk/revoke-chat", "/desk/staff")
        assert asked.status_code == 200
        assert "Revoke the Telegram chat of Front desk (desk)?" in asked.text
        async with console.uow(readonly=True) as uow:
            desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
            assert desk is not None and desk.telegram_chat_id is not None
        done = await http.post("/desk/staff/desk/revoke-chat", data={
            "csrf_token": csrf_of(asked), "confirm": "yes"})
        assert done.status_code == 303
        shown = await http.get(done.headers["location"])
        assert "The Telegram chat of desk is revoked." in shown.text
        assert "Revoke chat: desk" not in shown.text
        again = await post(http, "/desk/staff/desk/revoke-chat", "/desk/staff", confirm="yes")
        assert "has no Telegram chat; nothing was changed" in (
            await http.get(again.headers["location"])).text
        missing = await post(http, "/desk/staff/nobody/revoke-chat", "/desk/staff",
                             confirm="yes")
        assert missing.status_code == 404
    async with console.uow(readonly=True) as uow:
        desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
        assert desk is not None and desk.telegram_chat_id is None
    assert await actions(console, "mia") == [("staff.revoke_chat", "console")]


@pytest.mark.parametrize("locale", ["es"])
async def test_the_pages_speak_the_clinic_locale(console: Console, locale: str) -> None:
    from bot.storage.models import Clinic
    item_id = await said(console, "maya", QUESTION)
    async with console.uow() as uow:
        clinic = await uow.session.scalar(select(Clinic))
        assert clinic is not None
        clinic.locale = locale
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "mia")
        for path in (PATH, f"{PATH}/{item_id}", "/desk/audit", "/desk/staff"):
            page = await http.get(path)
            assert page.status_code == 200 and 'lang="es"' in page.text
