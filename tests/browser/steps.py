"""Steps a receptionist takes in the console, shared by the browser tests (and composed into
the receptionist's morning, ``test_desk_morning.py``). Each step drives the page as a person
would (labels, roles, button names) and checks that it worked before it returns."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

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
