"""The readable copy's field names in the reader's language (:mod:`bot.services.export_html`).

The fields a patient reads first (their profile, appointments, packages, money, messages) have
a translated label; any other field is shown by its JSON name made readable (``session_on`` ->
``Session on``), so a column added later still appears.
"""

from __future__ import annotations

from bot.i18n import Translator


def field_labels(t: Translator) -> dict[str, str]:
    """Translated labels by JSON key."""
    _ = t.gettext
    return {
        "id": _("Number"), "key": _("Clinic's key"), "first_name": _("First name"),
        "last_name": _("Last name"), "phone": _("Phone"), "email": _("Email"),
        "birth_date": _("Born"), "locale": _("Language"), "language": _("Language"),
        "opted_out": _("Opted out of messages"), "created_at": _("Created"),
        "name": _("Name"), "status": _("Status"), "starts_at": _("Starts"),
        "ends_at": _("Ends"), "fee": _("Treatment"), "practitioner": _("Practitioner"),
        "location": _("Location"), "cancelled_at": _("Cancelled"), "arrived_at": _("Arrived"),
        "price": _("Price"), "uses": _("Uses"), "redeemed": _("Redeemed"),
        "booked": _("Booked"), "available": _("Available"), "purchased_on": _("Purchased"),
        "expires_on": _("Expires"), "amount": _("Amount"), "paid": _("Paid"),
        "description": _("Description"), "due_on": _("Due"), "issued_on": _("Issued"),
        "method": _("Method"), "received_at": _("Received"), "balance": _("Balance"),
        "reason": _("Reason"), "plan": _("Plan"), "start": _("Start"), "end": _("End"),
        "channel": _("Channel"), "text": _("Text"), "body": _("Text"), "sent_at": _("Sent"),
        "sent": _("Messages sent to you"), "to_clinic": _("Messages to the clinic"),
        "replies": _("Replies"), "quiet_hours": _("Quiet hours"), "sms": _("SMS"),
    }
