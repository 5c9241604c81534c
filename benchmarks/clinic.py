"""The benchmark clinic's set-up file: 3 locations, 20 practitioners, their fees and hours.

It is written as a clinic file (the schema of ``clinic.example.toml``) and loaded through the
real reader and loader, so the base clinic is exactly what ``clinicbot load`` would create. The
bulk rows (patients, appointments, packages, memberships) are added by :mod:`benchmarks.build`.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCATIONS = ("downtown", "east", "west")
PRACTITIONERS = 20
DAYS = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True)
class Discipline:
    """A kind of practitioner: the fees they offer (key, minutes, price)."""

    title: str
    fees: tuple[tuple[str, str, int, str], ...]


DISCIPLINES = (
    Discipline("Physiotherapist", (
        ("physio-initial", "Physiotherapy initial assessment", 60, "120.00"),
        ("physio-follow", "Physiotherapy follow-up", 30, "90.00"),
    )),
    Discipline("Registered Massage Therapist", (
        ("massage-60", "Massage therapy 60 min", 60, "110.00"),
    )),
    Discipline("Chiropractor", (
        ("chiro-visit", "Chiropractic visit", 30, "75.00"),
    )),
)


def discipline_of(index: int) -> Discipline:
    """Practitioners 0-9 are physios, 10-15 massage therapists, 16-19 chiropractors."""
    return DISCIPLINES[0 if index < 10 else 1 if index < 16 else 2]


def practitioner_key(index: int) -> str:
    return f"pr{index:02d}"


def location_of(index: int) -> str:
    return LOCATIONS[index % len(LOCATIONS)]


def hours_of(index: int) -> tuple[str, str]:
    """Early starters work 08:00-16:00, the others 10:00-18:00 (clinic time)."""
    return ("08:00", "16:00") if index % 2 == 0 else ("10:00", "18:00")


def clinic_toml() -> str:
    """The set-up file text."""
    parts = [CLINIC]
    for key in LOCATIONS:
        parts.append(f'[[locations]]\nkey = "{key}"\nname = "{key.title()}"\n')
    for index in range(PRACTITIONERS):
        start, end = hours_of(index)
        days = ", ".join(f'"{d}"' for d in DAYS)
        parts.append(
            f'[[practitioners]]\nkey = "{practitioner_key(index)}"\n'
            f'name = "Practitioner {index:02d}"\ntitle = "{discipline_of(index).title}"\n'
            f'hours = [{{ location = "{location_of(index)}", days = [{days}], '
            f'start = "{start}", end = "{end}" }}]\n'
        )
    for discipline in DISCIPLINES:
        keys = [practitioner_key(i) for i in range(PRACTITIONERS) if discipline_of(i) is discipline]
        for key, name, minutes, price in discipline.fees:
            who = ", ".join(f'"{k}"' for k in keys)
            parts.append(
                f'[[fees]]\nkey = "{key}"\nname = "{name}"\nminutes = {minutes}\n'
                f'price = "{price}"\npractitioners = [{who}]\n'
            )
    parts.append(REST)
    return "\n".join(parts)


CLINIC = """\
[clinic]
name = "Benchmark Physio Group"
timezone = "America/Toronto"
currency = "CAD"
locale = "en_CA"
phone = "+14165550100"
slot_minutes = 15
booking_horizon_days = 28
min_notice_minutes = 120
cancel_notice_hours = 24
quiet_hours = ["21:00", "08:00"]
no_show_grace_minutes = 15
"""

REST = """\
[[no_show_fees]]
key = "missed"
name = "Missed appointment fee"
price = "45.00"

[[package_templates]]
key = "physio-5"
name = "Physio 5-pack"
price = "400.00"
uses = 5
eligible_fees = ["physio-follow"]
patient_pays = "0.00"
valid_days = 180
online_purchase = true
installments = 1

[[package_templates]]
key = "massage-10"
name = "Massage 10-pack"
price = "990.00"
uses = 10
eligible_fees = ["massage-60"]
patient_pays = "10.00"
valid_days = 365
online_purchase = true
installments = 3

[[package_templates]]
key = "chiro-6"
name = "Chiro 6-pack"
price = "420.00"
uses = 6
eligible_fees = ["chiro-visit"]
valid_days = 270
online_purchase = true

[[membership_plans]]
key = "wellness-monthly"
name = "Wellness membership (monthly)"
price = "49.00"
period = "monthly"
auto_invoice = true
remind_days_before = 3

[[membership_plans]]
key = "wellness-annual"
name = "Wellness membership (annual)"
price = "499.00"
period = "annual"
auto_invoice = true
remind_days_before = 14

[reminders]
unpaid_invoice_days = [3, 10, 24]
appointment_hours_before = 24
package_expiry_days_before = 14

[[staff]]
key = "desk"
name = "Front desk"
role = "reception"
telegram_chat_id = -1001234567890
alerts = ["no_show", "registration", "unpaid"]
"""
