"""The example clinic with more names to understand: Omar (massage, Tuesday and Thursday
afternoons at East End), Lucía (chiropractic, Downtown), an "Adjustment 8-pack", and two more
patients with massage packages: Sofía (es, already in the example) and Chloé (fr).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.clinicfile.reader import parse_clinic_text
from bot.clinicfile.schema import ClinicSpec
from bot.services.setup import load_clinic
from bot.storage.uow import UnitOfWork
from tests.conftest import EXAMPLE_FILE

CHLOE = "+14165550103"
EXTRA = """
[[practitioners]]
key = "omar"
name = "Omar Haddad"
title = "Registered Massage Therapist"
hours = [{ location = "east", days = ["tue", "thu"], start = "12:00", end = "18:00" }]

[[practitioners]]
key = "lucia"
name = "Lucía Gómez"
title = "Chiropractor"
hours = [{ location = "downtown", days = ["mon", "wed", "fri"], start = "09:00", end = "17:00" }]

[[fees]]
key = "chiro-adjust"
name = "Chiropractic adjustment"
minutes = 30
price = "80.00"
practitioners = ["lucia"]

[[package_templates]]
key = "adjust-8"
name = "Adjustment 8-pack"
price = "560.00"
uses = 8
eligible_fees = ["chiro-adjust"]
valid_days = 180

[[patients]]
key = "chloe"
first_name = "Chloé"
last_name = "Martin"
phone = "+14165550103"
locale = "fr"

[[purchases]]
patient = "sofia"
template = "massage-10"
purchased_on = "2026-10-01"
paid = "990.00"

[[purchases]]
patient = "chloe"
template = "massage-10"
purchased_on = "2026-10-01"
paid = "990.00"
"""


def talking_clinic_spec() -> ClinicSpec:
    text = EXAMPLE_FILE.read_text(encoding="utf-8").replace(
        'practitioners = ["ben"]', 'practitioners = ["ben", "omar"]', 1
    )
    return parse_clinic_text(text + EXTRA, "talking clinic")


async def load_talking_clinic(make_uow: Callable[..., UnitOfWork]) -> None:
    async with make_uow() as uow:
        await load_clinic(uow, talking_clinic_spec())
        await uow.commit()
