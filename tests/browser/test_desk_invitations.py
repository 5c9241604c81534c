"""In Chromium: a receptionist opens Leo's profile, invites a family member with the
invitee's phone (the code shown once; Telegram is off in this clinic, which the page says),
sees the invitation listed as open, and revokes it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import find_patient, invite_family_member, log_in, revoke_invitation


def test_a_receptionist_invites_and_revokes(served_clinic: ServedClinic, page: Page) -> None:
    url = served_clinic.url
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url)
    find_patient(page, url, "Leo", "Leo Chen")
    code = invite_family_member(page, "(416) 555-0177")
    expect(page.get_by_text("Telegram is off, so there is no link")).to_be_visible()
    expect(page.get_by_text("queued to go by SMS")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.goto(page.url.removesuffix("/invitations"))  # the profile again: no code shown
    expect(page.get_by_text(code)).to_have_count(0)
    rows = page.get_by_role("table", name="Invitations to manage this patient").get_by_role("row")
    expect(rows).to_have_count(2)
    revoke_invitation(page, 1)
