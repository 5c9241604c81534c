"""The console's invitations (issue 18, item 3) over HTTP on SQLite and PostgreSQL: create on
the patient's page (the code shown once, Telegram off said), listed with its state, resent with
a new code and an SMS queued, revoked; refusals answer the page with the reason; a practitioner
may not; every action audited from the console without the code."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.storage.models import AuditEntry, Invitation, OutboxMessage
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.e2e.test_desk_patient import ids, post


def code_in(page: str) -> str:
    found = re.search(r"code ([0-9A-Z]{8}), valid until", page)
    assert found, page
    return found.group(1)


async def test_create_list_resend_and_revoke(console: Console) -> None:
    leo = (await ids(console))["leo"]
    page = f"/desk/patients/{leo}"
    async with console.client() as http:
        await log_in(http, "desk")
        assert "No invitations." in (await http.get(page)).text
        made = await post(http, page, f"{page}/invitations", phone="")
        assert made.status_code == 200
        first = code_in(made.text)
        assert "Telegram is off" in made.text and "open" in made.text
        assert first not in (await http.get(page)).text  # shown only once
        once = re.search(r'name="once" value="([^"]+)"', (await http.get(page)).text)
        assert once
        twice = [await post(http, page, f"{page}/invitations", once=once.group(1))
                 for _ in range(2)]  # the form sent again (a reload): nothing more created
        assert [r.status_code for r in twice] == [200, 400]
        assert "this form created invitation 2 already" in twice[1].text
        bad = await post(http, page, f"{page}/invitations", phone="call me")
        assert bad.status_code == 400 and "not a phone number" in bad.text
        again = await post(http, page, "/desk/invitations/1/resend", phone="416 555 0177")
        assert again.status_code == 200
        second = code_in(again.text)
        assert second != first and "queued to go by SMS" in again.text
        await post(http, page, "/desk/invitations/2/revoke")
        gone = await post(http, page, "/desk/invitations/1/revoke")
        assert gone.status_code == 303 and gone.headers["location"].endswith(
            "done=invitation-revoked")
        shown = (await http.get(gone.headers["location"])).text
        assert "Invitation revoked" in shown and "revoked" in shown
        refused = await post(http, page, "/desk/invitations/1/revoke")
        assert refused.status_code == 400 and "was revoked already" in refused.text
        missing = await post(http, page, "/desk/invitations/99/resend")
        assert missing.status_code == 404 and "There is no invitation 99." in missing.text
    async with console.uow(readonly=True) as uow:
        stored = (await uow.session.scalars(select(Invitation.code_hash))).all()
        assert all(first not in h and second not in h for h in stored)
        entries = (await uow.session.execute(select(
            AuditEntry.staff, AuditEntry.face, AuditEntry.action, AuditEntry.summary)
            .order_by(AuditEntry.id))).tuples().all()
        assert [e[:3] for e in entries] == [
            ("desk", "console", "invitation.create"), ("desk", "console", "invitation.create"),
            ("desk", "console", "invitation.resend"), ("desk", "console", "invitation.revoke"),
            ("desk", "console", "invitation.revoke")]
        assert all(second not in e[3] and first not in e[3] for e in entries)
        [params] = (await uow.session.scalars(select(OutboxMessage.params))).all()
        assert params == {"invitation_id": 1}  # the SMS's code wiped with the revoke


async def test_a_practitioner_may_not_invite(console: Console) -> None:
    leo = (await ids(console))["leo"]
    async with console.client() as http:
        await log_in(http, "ana")
        token = await http.get("/desk/today")
        answer = await http.post(f"/desk/patients/{leo}/invitations",
                                 data={"csrf_token": csrf_of(token), "phone": ""})
        assert answer.status_code == 403
    async with console.uow(readonly=True) as uow:
        assert (await uow.session.scalars(select(Invitation))).all() == []
