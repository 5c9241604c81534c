"""In Chromium, in an SMS-only clinic: Maya texts "Talk to the clinic" and a question through
the real (signed) SMS webhook; the receptionist opens Messages, replies, and the reply reaches
the Twilio stand-in addressed to Maya's phone; the seeded no-show's staff alert is there too
(no Telegram needed). Then the manager finds the reply in the audit log and the staff page, at
a 1024 px desk screen."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import SmsClinic
from tests.browser.steps import log_in, reply_to, text_clinic, wait_for_sms

MAYA = "+14165550101"
QUESTION = "Can I come at 3 pm on Tuesday instead?"
ANSWER = "Yes, 3 pm on Tuesday works. See you then."


def test_a_patients_text_is_answered_from_the_console_and_reaches_them(
        sms_clinic: SmsClinic, page: Page) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    said = text_clinic(sms_clinic, MAYA, "hi", "Talk to the clinic", QUESTION)
    assert "passed to the clinic" in said
    log_in(page, sms_clinic.url, "desk")
    page.get_by_role("link", name="Messages", exact=True).click()
    expect(page.get_by_role("row", name="Maya Chen").filter(has_text=QUESTION)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    alert = page.get_by_role("row").filter(has_text="No-show").filter(has_text="Maya Chen")
    alert.get_by_role("link").first.click()  # the seeded no-show's alert, with no Telegram
    expect(page.get_by_role("heading", name="No-show", level=1)).to_be_visible()
    expect(page.get_by_text("staff alert")).to_be_visible()
    expect(page.locator("blockquote")).to_contain_text("Maya Chen")
    reply_to(page, sms_clinic.url, "Maya Chen", ANSWER)
    expect(page.get_by_text("handled by desk")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    assert ANSWER in wait_for_sms(sms_clinic, MAYA, ANSWER)
    page.get_by_role("link", name="Messages", exact=True).click()
    expect(page.get_by_text(QUESTION)).to_have_count(0)  # handled: no longer waiting
    page.get_by_role("link", name="Handled", exact=True).click()
    expect(page.get_by_role("row", name="Maya Chen").filter(has_text=QUESTION)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    log_in(page, sms_clinic.url, "mia")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    page.get_by_label("Staff member").select_option("desk")
    page.get_by_label("Action", exact=True).fill("inbox.reply")
    page.get_by_label("Action", exact=True).press("Enter")
    expect(page.get_by_role("row").filter(has_text="inbox.reply")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.goto(f"{sms_clinic.url}/desk/")
    page.get_by_role("link", name="Staff", exact=True).click()
    expect(page.get_by_role("row", name="Ana Silva")).to_contain_text("set")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
