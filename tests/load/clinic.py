"""The load test's clinic: the example clinic, made busy, with 200 patients on file.

:func:`build_clinic` writes a set-up file (what ``clinicbot load`` reads) from
``clinic.example.toml``: its fees and package templates, three practitioners who each work
09:00-13:00 every day and a two-day booking horizon (so a few dozen slots for a hundred and more
patients who want one: they race), cancelling allowed up to the start, quiet hours placed half a
day away from now (the servers use the system clock), no appointment reminders (they would move
a conversation while its patient is talking), and a front desk that gets staff alerts in a
private Telegram chat. Patients with an even number text by SMS, those with an odd number use
Telegram. Every third has a paid physio 5-pack with one or two uses left; some SMS patients owe
a massage installment or hold a pack about to expire, so the scheduler queues SMS reminders.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.conftest import EXAMPLE_FILE

PATIENTS = 200
DESK_CHAT = 880001
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
FIRST_NAMES = ["Maya", "Leo", "Sofia", "Omar", "Ines", "Ravi", "Chloe", "Tomas", "Aiko",
               "Noah", "Priya", "Lucas", "Zara", "Mateo", "Hana", "Ethan", "Amara"]
LAST_NAMES = ["Chen", "Ramirez", "Okafor", "Silva", "Nguyen", "Kowalski", "Haddad", "Moreau",
              "Tanaka", "Singh", "Byrne"]


@dataclass(frozen=True)
class PatientOnFile:
    """One generated patient, and what the clinic file gave them."""

    number: int
    first_name: str
    phone: str
    channel: str  # sms | telegram
    pack_uses_left: int  # of the paid physio 5-pack; 0: none

    @property
    def telegram_user_id(self) -> int:
        return 700000 + self.number


def patients_on_file() -> list[PatientOnFile]:
    return [
        PatientOnFile(
            number=i,
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            phone=f"+1416555{3000 + i:04d}",
            channel="sms" if i % 2 == 0 else "telegram",
            pack_uses_left=(1 + (i // 6) % 2) if i % 3 == 0 else 0,
        )
        for i in range(PATIENTS)
    ]


def build_clinic(directory: Path, now: datetime) -> Path:
    """Write the set-up file for ``now`` (see the module docstring); its path."""
    spec = tomllib.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
    clinic = spec["clinic"]
    local = now.astimezone(ZoneInfo(clinic["timezone"]))
    today = local.date()
    quiet = [(local + timedelta(hours=h)).strftime("%H:%M") for h in (10, 12)]
    clinic.update(booking_horizon_days=2, min_notice_minutes=60, cancel_notice_hours=0,
                  quiet_hours=quiet)
    spec["practitioners"] = [
        _practitioner("ana", "Ana Silva", "downtown"),
        _practitioner("cara", "Cara Byrne", "downtown"),
        _practitioner("ben", "Ben Okafor", "east"),
    ]
    for fee in spec["fees"]:
        if fee["key"].startswith("physio"):
            fee["practitioners"] = ["ana", "cara"]
    spec["reminders"] = {"unpaid_invoice_days": [3, 10, 24], "package_expiry_days_before": 14}
    spec["staff"] = [
        {"key": "desk", "name": "Front desk", "role": "reception", "telegram_chat_id": DESK_CHAT,
         "alerts": ["no_show", "registration", "unpaid", "message"]},
        {"key": "ana", "name": "Ana Silva", "role": "practitioner", "practitioner": "ana",
         "alerts": ["no_show"]},
    ]
    spec["patients"], spec["purchases"] = [], []
    spec.pop("memberships", None)
    for patient in patients_on_file():
        key = f"p{patient.number:03d}"
        spec["patients"].append({
            "key": key, "first_name": patient.first_name,
            "last_name": LAST_NAMES[patient.number % len(LAST_NAMES)], "phone": patient.phone,
            "locale": "en_CA",
        })
        if patient.pack_uses_left:
            spec["purchases"].append(_purchase(key, "physio-5", today - timedelta(days=20),
                                               "400.00", 5 - patient.pack_uses_left))
        if patient.channel == "sms" and patient.number % 10 == 2:  # owes installments 2 and 3
            spec["purchases"].append(_purchase(key, "massage-10", today - timedelta(days=75),
                                               "330.00", 1))
        if patient.channel == "sms" and patient.number % 10 == 4:  # expires in 10 days
            spec["purchases"].append(_purchase(key, "physio-5", today - timedelta(days=170),
                                               "400.00", 4))
    path = directory / "load-clinic.toml"
    path.write_text(to_toml(spec), encoding="utf-8")
    return path


def _practitioner(key: str, name: str, location: str) -> dict[str, object]:
    return {"key": key, "name": name, "hours": [
        {"location": location, "days": EVERY_DAY, "start": "09:00", "end": "13:00"}]}


def _purchase(patient: str, template: str, on: date, paid: str, used: int) -> dict[str, object]:
    return {"patient": patient, "template": template, "purchased_on": on, "paid": paid,
            "used": used}


def to_toml(spec: dict[str, object]) -> str:
    """The set-up file's text: tables, arrays of tables, and inline values (enough for it)."""
    lines: list[str] = []
    for name, value in spec.items():
        if isinstance(value, dict):
            lines += ["", f"[{name}]", *(f"{k} = {_value(v)}" for k, v in value.items())]
        elif isinstance(value, list):
            for table in value:
                lines += ["", f"[[{name}]]", *(f"{k} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines).lstrip() + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | date):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")
