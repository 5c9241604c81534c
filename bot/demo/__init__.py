"""The demo clinic: the example clinic with dates around today, so every dialog has something.

The demo patient (Maya, +14165550101) has a paid physio package with uses left, manages her son
Leo (who has a massage package in installments), and has a monthly membership with unpaid
invoices.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.resources import files
from string import Template

from bot.services.periods import add_months

DEMO_PHONE = "+14165550101"
DEMO_CLINIC_NAME = "Harbour Physio & Wellness (demo)"
DEMO_TIMEZONE = "America/Toronto"


def demo_clinic_toml(today: date) -> str:
    """The demo set-up file, with purchases and memberships dated relative to ``today``."""
    membership_start = add_months(today, -2)
    template = Template(files("bot.demo").joinpath("clinic.toml.in").read_text(encoding="utf-8"))
    return template.substitute(
        clinic_name=DEMO_CLINIC_NAME,
        maya_purchase=(today - timedelta(days=30)).isoformat(),
        leo_purchase=(today - timedelta(days=10)).isoformat(),
        membership_start=membership_start.isoformat(),
        paid_through=(add_months(membership_start, 1) - timedelta(days=1)).isoformat(),
    )
