"""In Chromium, a receptionist's morning at the console, end to end in an SMS-only clinic:
Maya has texted the clinic overnight; the receptionist logs in, charges the fee for her
no-show, merges her online registration into her profile, sells her a physio 5-pack and takes
its payment, answers her text (the reply reaches the Twilio stand-in); then the manager
refunds the package and her profile shows the fee owed and the credit. Each step is a function
of ``steps.py``, the same ones the single-page browser tests use."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import SmsClinic
from tests.browser.steps import (
    charge_no_show_fee,
    log_in,
    merge_registration,
    open_patient,
    patient_id_of,
    record_payment,
    refund,
    reply_to,
    sell_package,
    text_clinic,
    wait_for_sms,
)

MAYA = "+14165550101"
QUESTION = "Is there parking near the Downtown clinic?"
ANSWER = "Yes: the Green P on Bay Street, two minutes away."


def test_a_receptionists_morning(sms_clinic: SmsClinic, page: Page) -> None:
    url = sms_clinic.url
    assert "passed to the clinic" in text_clinic(sms_clinic, MAYA, "hi", "Talk to the clinic",
                                                 QUESTION)
    log_in(page, url, "desk")
    charge_no_show_fee(page, url, "Maya Chen", "Late cancellation fee ($30.00)")
    merge_registration(page, url, "Maya Chen", "Maya Chen")
    maya = patient_id_of(page, url, "(416) 555-0101", "Maya Chen")
    package_id = sell_package(page, url, maya, "Physio 5-pack")
    record_payment(page, "400.00", "card")
    expect(page.locator("dl.facts")).to_contain_text("active")
    reply_to(page, url, "Maya Chen", ANSWER)
    assert ANSWER in wait_for_sms(sms_clinic, MAYA, ANSWER)

    page.get_by_role("button", name="Log out").click()
    log_in(page, url, "mia")
    refund(page, url, package_id, "350.00")
    expect(page.locator("dl.facts")).to_contain_text("refunded")
    open_patient(page, url, maya)
    expect(page.get_by_role("heading", name="Maya Chen", level=1)).to_be_visible()
    expect(page.get_by_role("row", name="Late cancellation fee")).to_contain_text("$30.00")
    expect(page.get_by_text("$350.00").first).to_be_visible()  # the refund, as credit
