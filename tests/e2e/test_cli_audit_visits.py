"""The audit log of the appointment book, no-shows, closed time and people (issue 17).

Every ``clinicbot staff`` command that books, moves, cancels, marks or links adds exactly one
entry (who, face ``cli``, action, ids, the uses before/after); a refusal adds none. The
money-side commands are in tests/e2e/test_cli_audit_money.py. SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import EXAMPLE_FILE
from tests.e2e.audit_support import AuditLog
from tests.e2e.test_cli_staff_people import register_online
from tests.e2e.test_cli_staff_support import (
    Clinicbot,
    next_workday,
    number,
    past_appointment,
    query,
)

ANA = ("--practitioner", "ana", "--location", "downtown", "--fee", "physio-follow")


def _uses(figures: dict[str, object]) -> tuple[object, object, object]:
    assert isinstance(figures, dict)
    return figures["redeemed"], figures["booked"], figures["available"]


def test_the_appointment_book_is_audited(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    log = AuditLog(database_url)
    package = int(query(database_url, "SELECT min(id) FROM patient_package")[0][0])
    desk.ok("staff", "expiry", str(package), "none")
    log.one("package.expiry")
    key = f"package {package}"
    day = next_workday()

    booked = desk.ok("staff", "--as", "ana", "book", "maya", *ANA, "--at", f"{day} 09:00")
    appointment = number(r"Booked appointment (\d+)", booked)
    book = log.one("appointment.book", staff="ana")
    assert book.appointment_id == appointment and book.patient_id == 1
    assert book.after["appointment"]["status"] == "booked"
    assert _uses(book.after[key]) == (2, 1, 2)
    taken = desk.refused("staff", "book", "leo", *ANA, "--at", f"{day} 09:15")
    assert "already booked" in taken.stderr
    log.none()

    desk.ok("staff", "reschedule", str(appointment), "--at", f"{day} 11:00")
    moved = log.one("appointment.reschedule")
    assert moved.before["appointment"]["starts_at"] != moved.after["appointment"]["starts_at"]
    desk.ok("staff", "remove-package", str(appointment))
    removed = log.one("appointment.remove_package")
    assert (_uses(removed.before[key]), _uses(removed.after[key])) == ((2, 1, 2), (2, 0, 3))
    desk.ok("staff", "add-package", str(appointment), str(package))
    added = log.one("appointment.add_package")
    assert added.package_id == package and _uses(added.after[key]) == (2, 1, 2)
    desk.ok("staff", "cancel", str(appointment))
    cancelled = log.one("appointment.cancel")
    assert cancelled.after["appointment"]["status"] == "cancelled"
    assert _uses(cancelled.after[key]) == (2, 0, 3)
    assert "cannot be cancelled" in desk.refused("staff", "cancel", str(appointment)).stderr
    log.none()


def test_arrivals_and_no_shows_are_audited(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    log = AuditLog(database_url)
    visit = past_appointment(database_url)  # written by the services directly: no actor
    log.none()
    key = f"package {visit.package_id}"

    desk.ok("staff", "arrive", str(visit.appointment_id))
    arrived = log.one("appointment.arrive")
    assert (_uses(arrived.before[key]), _uses(arrived.after[key])) == ((0, 1, 4), (1, 0, 4))
    desk.ok("staff", "undo-arrival", str(visit.appointment_id))
    assert _uses(log.one("appointment.undo_arrival").after[key]) == (0, 1, 4)
    assert "no arrival to undo" in desk.refused(
        "staff", "undo-arrival", str(visit.appointment_id)).stderr
    log.none()

    marked = desk.ok("staff", "--as", "ana", "no-show", str(visit.appointment_id))
    no_show = number(r"is a no-show: no-show (\d+)\.", marked)
    mark = log.one("no_show.mark", staff="ana")
    assert mark.after["appointment"]["status"] == "no_show"
    desk.ok("staff", "resolve", str(no_show), "redeem")
    assert _uses(log.one("no_show.resolve").after[key]) == (1, 0, 4)
    desk.ok("staff", "undo", str(no_show))
    log.one("no_show.undo")
    desk.ok("staff", "resolve", str(no_show), "fee", "--fee", "missed")
    fee = log.one("no_show.resolve")
    assert fee.invoice_id is not None and fee.after["invoice"]["amount"] == 4500
    assert _uses(fee.after[key]) == (0, 0, 5)
    assert "already" in desk.refused("staff", "resolve", str(no_show), "redeem").stderr
    log.none()
    desk.ok("staff", "undo", str(no_show))
    undone = log.one("no_show.undo")
    assert (undone.before["invoice"]["status"], undone.after["invoice"]["status"]) == (
        "open", "void")


def test_closed_time_and_people_are_audited(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    log = AuditLog(database_url)
    day = next_workday(3)
    desk.ok("staff", "book", "maya", *ANA, "--at", f"{day} 10:00", "--no-package")
    log.one("appointment.book")

    closure = number(r"Added closure (\d+)", desk.ok("staff", "closed", "add", str(day)))
    assert f"closure {closure}" in log.one("closure.add").summary
    desk.ok("staff", "closed", "notify", str(closure))
    assert log.one("closure.notify").summary == f"1 patients told of closure {closure}"
    desk.ok("staff", "closed", "remove", str(closure))
    log.one("closure.remove")
    assert "there is no closure" in desk.refused("staff", "closed", "remove", str(closure)).stderr
    away = number(r"Added time off (\d+)", desk.ok(
        "staff", "time-off", "add", "ana", f"{day} 12:00", f"{day} 17:00", "--no-notify"))
    log.one("time_off.add")
    desk.ok("staff", "time-off", "remove", str(away))
    log.one("time_off.remove")

    desk.ok("staff", "add-guardian", "sofia", "leo")
    assert log.one("guardian.add").patient_id == 2
    assert "already manages" in desk.refused("staff", "add-guardian", "sofia", "leo").stderr
    log.none()
    desk.ok("staff", "remove-guardian", "sofia", "leo")
    log.one("guardian.remove")
    desk.ok("staff", "revoke-chat", "desk")
    log.one("staff.revoke_chat")
    desk.ok("staff", "revoke-chat", "ana")  # had no chat: nothing changed, nothing recorded
    log.none()

    registration = register_online(database_url)
    log.none()  # a patient registering online is not a staff action
    desk.refused("staff", "merge", "maya", str(registration))  # asks first: nothing merged
    log.none()
    desk.ok("staff", "merge", "maya", str(registration), "--yes")
    merged = log.one("patient.merge")
    assert merged.patient_id == 1 and str(registration) in merged.summary
