"""The readable copy of a patient export: the same document as one self-contained HTML page.

:func:`render` writes what :func:`bot.services.patient_export.export` gathered, section by
section (titles and the main fields' names in the reader's language:
:mod:`bot.services.export_labels`), every record as a list of its fields: moments in
the clinic's time zone, days and amounts as the reader's locale writes them. The page carries
its own styles and no script or link, so it can be saved, printed or sent as one file. It is
written beside the JSON (``FILE.html``) by ``clinicbot staff export`` and offered by the
console; the JSON stays the authoritative copy (docs/patient-export.md).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.i18n import Translator
from bot.services.export_labels import field_labels

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def section_titles(t: Translator) -> dict[str, str]:
    """Each top-level section's title, in the reader's language (in the document's order)."""
    return {
        "patient": t.gettext("Profile"),
        "merged_profiles": t.gettext("Profiles merged into this one"),
        "channels": t.gettext("Channels"),
        "consents": t.gettext("Consents and opt-outs"),
        "preferences": t.gettext("Preferences"),
        "guardians": t.gettext("Guardians"),
        "wards": t.gettext("Family members managed"),
        "appointments": t.gettext("Appointments"),
        "series": t.gettext("Series of appointments"),
        "packages": t.gettext("Packages"),
        "invoices": t.gettext("Invoices"),
        "payments": t.gettext("Payments"),
        "credit": t.gettext("Credit"),
        "memberships": t.gettext("Memberships"),
        "waitlist": t.gettext("Waitlist"),
        "invitations": t.gettext("Invitations"),
        "kept_separate_from": t.gettext("Profiles kept separate"),
        "conversations": t.gettext("Chats"),
        "messages": t.gettext("Messages"),
        "staff_actions": t.gettext("Staff actions on the profile"),
    }


def plain_label(key: str) -> str:
    """A field's JSON name made readable: ``starts_at`` -> ``Starts at``."""
    text = key.replace("_", " ")
    return text[:1].upper() + text[1:]


class Shown:
    """Writes values for the page: moments, days and money in the reader's locale."""

    def __init__(self, t: Translator, zone: ZoneInfo) -> None:
        self.t = t
        self.zone = zone

    def scalar(self, value: object) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return self.t.gettext("yes") if value else self.t.gettext("no")
        if isinstance(value, str) and _MOMENT.match(value):
            try:
                return self.t.datetime_text(datetime.fromisoformat(value), self.zone,
                                            "d MMM y, HH:mm")
            except ValueError:
                return value
        if isinstance(value, str) and _DAY.fullmatch(value):
            return self.t.date_text(date.fromisoformat(value))
        return str(value)

    def kind(self, value: object) -> str:
        """How the template lays ``value`` out: money, scalar, record, records or empty."""
        if isinstance(value, dict):
            return "money" if set(value) == {"amount", "currency"} else "record"
        if isinstance(value, list):
            return "records" if value else "empty"
        return "scalar"

    def money(self, value: dict[str, str]) -> str:
        return self.t.money(Decimal(value["amount"]), value["currency"])


def render(doc: dict[str, Any], t: Translator) -> str:
    """The readable copy of ``doc`` (an export), in ``t``'s language."""
    zone = ZoneInfo(str(doc["clinic"]["timezone"]))
    titles = section_titles(t)
    patient = doc["patient"]
    sections = [(titles[key], doc[key]) for key in titles if key in doc]
    wards = [(f"{w['patient']['first_name']} {w['patient']['last_name']}",
              [(titles[key], w[key]) for key in titles if key in w])
             for w in doc.get("ward_exports", [])]
    shown = Shown(t, zone)
    labels = field_labels(t)

    def label(key: str) -> str:
        return labels.get(key) or plain_label(key)

    return TEMPLATES.get_template("patient_export.html").render(
        _=t.gettext, language=t.language, doc=doc, sections=sections, wards=wards,
        name=f"{patient['first_name']} {patient['last_name']}", label=label,
        scalar=shown.scalar, kind=shown.kind, money=shown.money,
        exported=shown.scalar(doc["exported_at"]))
