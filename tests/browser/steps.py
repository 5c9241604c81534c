"""Steps a receptionist takes in the console, shared by the browser tests (and composed into
the receptionist's morning, ``test_desk_morning.py``). Each step drives the page as a person
would (labels, roles, button names) and checks that it worked before it returns."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PASSWORDS, TWILIO_FROM, TWILIO_SID, SmsClinic
from tests.e2e.sms_harness import CHOICE, new_sid
from tests.e2e.sms_harness import messages as sms_messages


def log_in(page: Page, url: str, key: str = "desk") -> None:
    """Log in as staff member ``key`` (a key of :data:`PASSWORDS`) and land on the dashboard."""
    page.goto(f"{url}/desk/login")
    page.get_by_label("Username").fill(key)
    page.get_by_label("Password").fill(PASSWORDS[key])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{url}/desk/")


def find_patient(page: Page, url: str, query: str, name: str) -> None:
    """Search Patients for ``query`` and open the profile of the patient called ``name``."""
    page.goto(f"{url}/desk/patients")
    page.get_by_label("Name, phone or patient id").fill(query)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=name).first.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def keep_separate(page: Page, url: str, registration: str, profile: str) -> None:
    """On Registrations, keep the online registration ``registration`` (a name) separate from
    the profile ``profile`` it resembles; the page confirms it (with Undo)."""
    page.goto(f"{url}/desk/registrations")
    page.get_by_role("button", name=f"Keep {registration} separate from {profile}").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Kept {registration} and {profile} separate")
    expect(page.get_by_role("button", name="Undo")).to_be_visible()


def open_report(page: Page, url: str, date_from: str, date_to: str) -> None:
    """Open Reports from the navigation (a manager) and show the range ``date_from`` to
    ``date_to`` (YYYY-MM-DD)."""
    page.goto(f"{url}/desk/")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    page.get_by_label("From").fill(date_from)
    page.get_by_label("To", exact=True).fill(date_to)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{url}/desk/reports?from={date_from}&to={date_to}")
    expect(page.get_by_label("From")).to_have_value(date_from)


def download_report(page: Page, report: str) -> str:
    """Download the report called ``report`` (its heading) as CSV from the Reports page; its
    text."""
    with page.expect_download() as started:
        page.get_by_role("link", name=f"Download {report} as CSV").click()
    download = started.value
    assert download.suggested_filename.endswith(".csv")
    return Path(download.path()).read_text(encoding="utf-8")
def patient_id_of(page: Page, url: str, query: str, name: str) -> int:
    """Search Patients for ``query``; the id of the patient called ``name`` (from the link)."""
    page.goto(f"{url}/desk/patients")
    page.get_by_label("Name, phone or patient id").fill(query)
    page.keyboard.press("Enter")
    href = page.get_by_role("link", name=name).first.get_attribute("href")
    assert href is not None and href.startswith("/desk/patients/"), href
    return int(href.rsplit("/", 1)[-1])


def sell_package(page: Page, url: str, patient_id: int, template_name: str) -> int:
    """Sell the package ``template_name`` to the patient; the new package's id (its page open,
    awaiting payment)."""
    page.goto(f"{url}/desk/patients/{patient_id}/sell")
    page.get_by_label(template_name).check()
    page.get_by_role("button", name="Sell and invoice").click()
    expect(page.get_by_role("status")).to_contain_text("Package sold")
    expect(page.get_by_role("heading", level=1)).to_contain_text(template_name)
    expect(page.get_by_text("awaiting payment")).to_be_visible()
    return int(page.url.split("/desk/packages/")[1].split("?")[0])


def record_payment(page: Page, amount: str, method: str = "card") -> None:
    """From a page listing an open invoice (a package's page), record ``amount`` received by
    ``method`` (its label: at the desk, card, cash, cheque) on the first one; back on that
    page, which confirms it."""
    came_from = page.url.split("?")[0]
    page.get_by_role("link", name="Record a payment").first.click()
    page.get_by_label("Amount received").fill(amount)
    page.get_by_label("Method").select_option(label=method)
    page.get_by_role("button", name="Record payment").click()
    expect(page).to_have_url(re.compile(re.escape(came_from) + r"\?paid=\d+$"))
    expect(page.get_by_role("status")).to_contain_text("Payment recorded on invoice")


def refund(page: Page, url: str, package_id: int, amount: str | None = None) -> None:
    """As a manager, refund the package (``amount`` None: the suggested amount), after the
    confirmation page's figures."""
    page.goto(f"{url}/desk/packages/{package_id}")
    if amount is not None:
        page.get_by_label("Amount to refund").fill(amount)
    page.get_by_role("button", name="Refund…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Refund")
    expect(page.get_by_text("The package ends")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Yes, refund")).click()
    expect(page.get_by_role("status")).to_contain_text("The package was refunded")
def _choose(page: Page, label: str, text: str) -> None:
    """In the select labelled ``label``, choose the option whose text contains ``text``."""
    select = page.get_by_label(label, exact=True)
    value = select.locator("option", has_text=text).first.get_attribute("value")
    assert value is not None, text
    select.select_option(value)


def _start(page: Page, day: str, time: str) -> Locator:
    """The button of the free time ``time`` on ``day`` in the time picker."""
    return page.locator(f"#day-{day}").get_by_role(
        "button", name=re.compile(f", {re.escape(time)}$"))


def book_at(page: Page, url: str, patient_id: int, *, fee: str, where: str, day: str,
            time: str) -> int:
    """Book patient ``patient_id`` for ``fee`` (its name) with ``where`` ("Ana Silva at
    Downtown") on ``day`` (YYYY-MM-DD) at ``time`` (clinic time as the page writes it,
    "10:00 a.m."), with the package the page pre-selects; land on the appointment's page and
    answer its id."""
    page.goto(f"{url}/desk/patients/{patient_id}/book")
    _choose(page, "Fee", fee)
    page.get_by_role("button", name="Show free times").click()
    _choose(page, "Practitioner and location", where)
    page.get_by_label("From", exact=True).fill(day)
    page.get_by_role("button", name="Show free times").click()
    _start(page, day, time).click()
    expect(page).to_have_url(re.compile(r"/desk/appointments/\d+\?done=booked$"))
    expect(page.get_by_role("status")).to_have_text("Booked.")
    expect(page.locator("dl.facts")).to_contain_text(f", {time}")
    found = re.search(r"/desk/appointments/(\d+)", page.url)
    assert found is not None
    return int(found.group(1))


def reschedule_to(page: Page, url: str, appointment_id: int, *, day: str, time: str,
                  where: str | None = None) -> None:
    """Move appointment ``appointment_id`` to ``day`` at ``time`` (as the page writes it), with
    ``where`` ("Ana Silva at East End") when given, from its page's Reschedule link."""
    page.goto(f"{url}/desk/appointments/{appointment_id}")
    page.get_by_role("link", name="Reschedule").click()
    if where is not None:
        _choose(page, "Practitioner and location", where)
    page.get_by_label("From", exact=True).fill(day)
    page.get_by_role("button", name="Show free times").click()
    _start(page, day, time).click()
    expect(page.get_by_role("status")).to_have_text("Moved to the new time.")
    expect(page.locator("dl.facts")).to_contain_text(f", {time}")


def cancel_appointment(page: Page, url: str, appointment_id: int) -> None:
    """Cancel appointment ``appointment_id`` from its page, confirming when asked."""
    page.goto(f"{url}/desk/appointments/{appointment_id}")
    page.get_by_role("link", name="Cancel appointment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Cancel appointment {appointment_id}?")
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("status")).to_contain_text("Cancelled.")
    expect(page.locator("dl.facts")).to_contain_text("cancelled")


def add_closure(page: Page, url: str, day: str, reason: str) -> None:
    """Close the clinic everywhere on ``day`` (YYYY-MM-DD) from Closures and time off."""
    page.goto(f"{url}/desk/closures")
    closures = page.get_by_role("region", name="Clinic closures")
    closures.get_by_label("First day", exact=True).fill(day)
    closures.get_by_label("Reason (shown to patients)").fill(reason)
    closures.get_by_role("button", name="Add the closure").click()
    expect(page.get_by_role("status")).to_contain_text("Added")
    expect(page.get_by_role("region", name="Clinic closures").get_by_role(
        "row", name=reason)).to_be_visible()
def open_patient(page: Page, url: str, patient_id: int) -> None:
    """Open the profile of patient ``patient_id`` (its heading is the patient's name)."""
    page.goto(f"{url}/desk/patients/{patient_id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Packages & Memberships")).to_be_visible()


def add_guardian(page: Page, typed: str, name: str) -> None:
    """On the open profile, add the guardian typed as ``typed`` (id, key or phone), who is
    called ``name``; the guardian is then listed with a link to their profile."""
    page.get_by_label("Guardian's patient id, key or phone").fill(typed)
    page.get_by_role("button", name="Add guardian").click()
    expect(page.get_by_role("status")).to_have_text("Guardian added.")
    guardians = page.get_by_role("table", name="Guardians (may act for this patient)")
    expect(guardians.get_by_role("link", name=name)).to_be_visible()


def invite_family_member(page: Page, phone: str = "") -> str:
    """On the open profile, invite a family member (texted to ``phone`` when given): the code
    and what became of the Telegram link are shown once, and the invitation is listed open.
    Returns the code."""
    if phone:
        page.get_by_label("Invitee's phone, to text the invitation (optional)").fill(phone)
    page.get_by_role("button", name="Invite a family member").click()
    shown = page.get_by_role("status")
    expect(shown).to_contain_text("This is the only time the code is shown")
    found = re.search(r"code ([0-9A-Z]{8}),", shown.inner_text())
    assert found, shown.inner_text()
    invitations = page.get_by_role("table", name="Invitations to manage this patient")
    expect(invitations.get_by_role("row").nth(1)).to_contain_text("open")
    return found.group(1)


def revoke_invitation(page: Page, invitation_id: int) -> None:
    """On the open profile, revoke invitation ``invitation_id``: listed as revoked, with no
    Resend or Revoke left."""
    page.get_by_role("button", name=f"Revoke invitation {invitation_id}").click()
    expect(page.get_by_role("status")).to_have_text(
        "Invitation revoked: its code no longer works.")
    invitations = page.get_by_role("table", name="Invitations to manage this patient")
    row = invitations.get_by_role("row").filter(has=page.get_by_role(
        "cell", name=str(invitation_id), exact=True))
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button")).to_have_count(0)


def enrol(page: Page, plan: str, start: str) -> None:
    """On the open profile, enrol in the plan whose choice reads ``plan`` from ``start``
    (YYYY-MM-DD); the membership is then listed."""
    page.get_by_label("Membership plan").select_option(label=plan)
    page.get_by_label("Start date").fill(start)
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("status")).to_have_text("Enrolled in the membership.")
    memberships = page.get_by_role("table", name="Memberships")
    expect(memberships.get_by_role("row").nth(1)).to_contain_text(plan.split(" (")[0])


def open_unpaid(page: Page, url: str) -> None:
    """Open Unpaid from the navigation."""
    page.goto(f"{url}/desk/")
    page.get_by_role("link", name="Unpaid", exact=True).click()
    expect(page.get_by_role("heading", name="Unpaid invoices", level=1)).to_be_visible()


def charge_no_show_fee(page: Page, url: str, name: str, fee: str) -> None:
    """From the dashboard, decide ``name``'s no-show by charging ``fee`` (the option's label,
    e.g. "Late cancellation fee ($30.00)") and see it decided."""
    page.goto(f"{url}/desk/")
    page.get_by_role("link", name="Decide").click()
    row = page.get_by_role("row", name=name)
    row.get_by_label("Fee to charge").select_option(label=fee)
    row.get_by_role("button", name=f"No-show fee: {name}").click()
    expect(page.get_by_role("status")).to_contain_text("a no-show fee was charged")


def merge_registration(page: Page, url: str, registration: str, into: str) -> None:
    """On Registrations, merge the online registration called ``registration`` into the
    profile called ``into``, after the confirmation page."""
    page.goto(f"{url}/desk/registrations")
    page.get_by_role("button", name=f"Merge {registration} into {into}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Merge patient")
    page.get_by_role("button", name="Yes, merge").click()
    expect(page.get_by_role("status")).to_contain_text("into the profile kept")


def text_clinic(clinic: SmsClinic, phone: str, *texts: str) -> str:
    """Text the clinic from ``phone`` through the real SMS webhook, signed as Twilio signs it:
    each of ``texts`` in turn; a text that names a choice of the last answer (``"Talk to the
    clinic"``) sends that choice's number. The clinic's last answer."""
    answer: list[str] = []
    for text in texts:
        body = text
        for number, label in CHOICE.findall("\n".join(answer)):
            if text.casefold() in label.casefold():
                body = number
                break
        params = {"MessageSid": new_sid(), "AccountSid": TWILIO_SID, "From": phone,
                  "To": TWILIO_FROM, "Body": body, "NumMedia": "0"}
        sent = httpx.post(f"{clinic.url}/sms/inbound", data=params, timeout=60,
                          headers={"X-Twilio-Signature": clinic.sign("/sms/inbound", params)})
        answer = sms_messages(sent)
        assert answer, f"no answer to {text!r}"
    return "\n".join(answer)


def reply_to(page: Page, url: str, name: str, text: str) -> None:
    """Open Messages, open the waiting message of the patient called ``name``, send ``text``
    as the reply, and check it is on its way and the message handled."""
    page.goto(f"{url}/desk/")
    page.get_by_role("link", name="Messages", exact=True).click()
    expect(page.get_by_role("heading", name="Waiting for the desk")).to_be_visible()
    row = page.get_by_role("row", name=name).filter(has_text="Patient message").first
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Patient message", level=1)).to_be_visible()
    page.get_by_label("Reply", exact=True).fill(text)
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("The reply is on its way")
    expect(page.get_by_text(text)).to_be_visible()


def wait_for_sms(clinic: SmsClinic, to: str, text: str, seconds: float = 60) -> str:
    """The body of the SMS to ``to`` containing ``text`` that reached the Twilio stand-in,
    waiting at most ``seconds`` for the outbox to deliver it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for sms in clinic.twilio.sent:
            if sms.params.get("To") == to and text in sms.params.get("Body", ""):
                return str(sms.params["Body"])
        time.sleep(0.2)
    raise AssertionError(f"no SMS to {to} saying {text!r}: {clinic.twilio.sent}")


def open_statement(page: Page, url: str, package_id: int) -> None:
    """From the package's page, open its statement (the print view) and check its figures are
    there; printed, the console's header is left out."""
    page.goto(f"{url}/desk/packages/{package_id}")
    page.get_by_role("link", name="Statement (print)").click()
    expect(page).to_have_url(f"{url}/desk/packages/{package_id}/statement")
    expect(page.get_by_role("heading", name="Package statement", level=1)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(f"(package {package_id})")
    expect(page.get_by_role("heading", name="Sessions covered")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Console")).to_be_hidden()
    expect(page.get_by_role("link", name="Download PDF")).to_be_hidden()
    page.emulate_media(media="screen")


def download_statement(page: Page) -> bytes:
    """On a statement's print view (or the package's page), download the PDF; its bytes."""
    with page.expect_download() as event:
        page.get_by_role("link", name="Download PDF").click()
    download = event.value
    assert download.suggested_filename.startswith("statement-package-")
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"%PDF-")
    return body
