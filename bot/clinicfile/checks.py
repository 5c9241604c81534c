"""Checks that span several values of a set-up file, after each value is valid on its own.

References between sections (a fee's practitioners, a purchase's template...), keys used twice,
hours that end before they start or overlap (one practitioner is in one place at a time),
purchases and memberships that contradict their template or plan, closures and time off
(:mod:`bot.clinicfile.closed`), and phone numbers, which are
normalised to E.164 here: a number is written ``+E.164`` or as dialled in the clinic's country
(the country of the clinic's phone, else of its locale).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta

import phonenumbers
from babel import Locale

from bot.clinicfile.closed import check_closed
from bot.clinicfile.errors import Loc, Problem
from bot.clinicfile.fields import shown
from bot.clinicfile.schema import (
    ClinicSpec,
    MembershipSection,
    PatientSection,
    PractitionerSection,
    StaffSection,
)
from bot.services.periods import period_start

KEYED = (
    "locations",
    "practitioners",
    "fees",
    "no_show_fees",
    "package_templates",
    "membership_plans",
    "staff",
    "patients",
)


def check(spec: ClinicSpec) -> list[Problem]:
    """Every cross-value problem of ``spec``; normalises its phone numbers as a side effect."""
    problems: list[Problem] = []
    problems += _duplicates(spec)
    problems += _references(spec)
    for index, practitioner in enumerate(spec.practitioners):
        problems += _hours(index, practitioner)
    problems += _policy(spec)
    problems += _purchases(spec)
    for index, membership in enumerate(spec.memberships):
        problems += _membership(spec, index, membership)
    problems += _phones(spec)
    problems += check_closed(spec)
    return problems


def _duplicates(spec: ClinicSpec) -> Iterable[Problem]:
    for section in KEYED:
        first: dict[str, int] = {}
        for index, entry in enumerate(getattr(spec, section)):
            key = entry.key
            if key in first:
                yield Problem(
                    (section, index, "key"),
                    f"{shown(key)} is already the key of entry {first[key] + 1} of "
                    f"[[{section}]]; give each entry its own key",
                )
            first.setdefault(key, index)
    seen: dict[tuple[object, ...], int] = {}
    for index, purchase in enumerate(spec.purchases):
        identity = (purchase.patient, purchase.template, purchase.purchased_on)
        if identity in seen:
            yield Problem(
                ("purchases", index, "purchased_on"),
                f"entry {seen[identity] + 1} already records {purchase.patient}'s "
                f"{purchase.template} bought on {purchase.purchased_on.isoformat()}; "
                "write each purchase once",
            )
        seen.setdefault(identity, index)
    seen = {}
    for index, membership in enumerate(spec.memberships):
        identity = (membership.patient, membership.plan, membership.start)
        if identity in seen:
            yield Problem(
                ("memberships", index, "start"),
                f"entry {seen[identity] + 1} already records {membership.patient}'s "
                f"{membership.plan} from {membership.start.isoformat()}; write each membership "
                "once",
            )
        seen.setdefault(identity, index)


def _ref(loc: Loc, value: str, known: Iterable[str], section: str) -> Iterable[Problem]:
    names = sorted(set(known))
    if value not in names:
        choices = ", ".join(shown(name) for name in names) or "none yet"
        yield Problem(
            loc,
            f"there is no {section} {shown(value)}; use the key of one of "
            f"[[{section}s]] ({choices}) or add it there",
        )


def _refs(loc: Loc, values: list[str], known: Iterable[str], section: str) -> Iterable[Problem]:
    names = set(known)
    for position, value in enumerate(values):
        yield from _ref((*loc, position), value, names, section)
        if value in values[:position]:
            yield Problem((*loc, position), f"{shown(value)} is listed twice; list it once")


def _references(spec: ClinicSpec) -> Iterable[Problem]:
    locations = {location.key for location in spec.locations}
    practitioners = {p.key: p for p in spec.practitioners}
    fees = {fee.key: fee for fee in spec.fees}
    patients = {patient.key for patient in spec.patients}
    for i, practitioner in enumerate(spec.practitioners):
        for j, block in enumerate(practitioner.hours):
            yield from _ref(("practitioners", i, "hours", j, "location"), block.location,
                            locations, "location")
    for i, fee in enumerate(spec.fees):
        yield from _refs(("fees", i, "practitioners"), fee.practitioners, practitioners,
                         "practitioner")
        for j, key in enumerate(fee.practitioners):
            if key in practitioners and not practitioners[key].hours:
                yield Problem(
                    ("fees", i, "practitioners", j),
                    f"practitioner {shown(key)} has no hours, so nobody could book "
                    f"{shown(fee.key)} with them; add hours to [[practitioners]] {shown(key)}",
                )
    for i, template in enumerate(spec.package_templates):
        loc: Loc = ("package_templates", i)
        yield from _refs((*loc, "eligible_fees"), template.eligible_fees, fees, "fee")
        yield from _refs((*loc, "practitioners"), template.practitioners, practitioners,
                         "practitioner")
        yield from _refs((*loc, "locations"), template.locations, locations, "location")
        eligible = [fees[key] for key in template.eligible_fees if key in fees]
        for j, key in enumerate(template.practitioners):
            if key in practitioners and eligible and not any(
                key in fee.practitioners for fee in eligible
            ):
                yield Problem(
                    (*loc, "practitioners", j),
                    f"practitioner {shown(key)} offers none of the eligible fees "
                    f"({', '.join(template.eligible_fees)}); add {shown(key)} to one of those "
                    "fees' practitioners or remove it here",
                )
    for i, staff in enumerate(spec.staff):
        if staff.practitioner is not None:
            yield from _ref(("staff", i, "practitioner"), staff.practitioner, practitioners,
                            "practitioner")
    for i, patient in enumerate(spec.patients):
        yield from _refs(("patients", i, "guardians"), patient.guardians, patients, "patient")
        if patient.key in patient.guardians:
            yield Problem(
                ("patients", i, "guardians", patient.guardians.index(patient.key)),
                f"{shown(patient.key)} cannot be their own guardian; list other patients' keys",
            )
    templates = {template.key for template in spec.package_templates}
    plans = {plan.key for plan in spec.membership_plans}
    for i, purchase in enumerate(spec.purchases):
        yield from _ref(("purchases", i, "patient"), purchase.patient, patients, "patient")
        yield from _ref(("purchases", i, "template"), purchase.template, templates,
                        "package_template")
    for i, membership in enumerate(spec.memberships):
        yield from _ref(("memberships", i, "patient"), membership.patient, patients, "patient")
        yield from _ref(("memberships", i, "plan"), membership.plan, plans, "membership_plan")


def _hours(index: int, practitioner: PractitionerSection) -> Iterable[Problem]:
    loc: Loc = ("practitioners", index, "hours")
    by_day: dict[str, list[int]] = defaultdict(list)
    for j, block in enumerate(practitioner.hours):
        if block.end <= block.start:
            yield Problem(
                (*loc, j, "end"),
                f"end {block.end:%H:%M} is not after start {block.start:%H:%M}; hours end later "
                "the same day",
            )
            continue
        for position, day in enumerate(block.days):
            if day in block.days[:position]:
                yield Problem((*loc, j, "days", position), f'"{day}" is listed twice')
                continue
            for other in by_day[day]:
                earlier = practitioner.hours[other]
                if block.start < earlier.end and earlier.start < block.end:
                    yield Problem(
                        (*loc, j),
                        f"{day} {block.start:%H:%M}-{block.end:%H:%M} at {shown(block.location)}"
                        f" overlaps entry {other + 1} ({day} {earlier.start:%H:%M}-"
                        f"{earlier.end:%H:%M} at {shown(earlier.location)}); a practitioner is "
                        "in one place at a time, so make them not overlap",
                    )
            by_day[day].append(j)


def _policy(spec: ClinicSpec) -> Iterable[Problem]:
    quiet = spec.clinic.quiet_hours
    if quiet is not None and quiet[0] == quiet[1]:
        yield Problem(
            ("clinic", "quiet_hours"),
            "start and end are the same time; give a window such as [\"21:00\", \"08:00\"] or "
            "leave quiet_hours out",
        )
    days = spec.reminders.unpaid_invoice_days
    for position, day in enumerate(days):
        if day in days[:position]:
            yield Problem(("reminders", "unpaid_invoice_days", position),
                          f"{day} is listed twice; list each day once")


def _purchases(spec: ClinicSpec) -> Iterable[Problem]:
    templates = {template.key: template for template in spec.package_templates}
    for i, purchase in enumerate(spec.purchases):
        template = templates.get(purchase.template)
        if template is None:
            continue
        if purchase.used > template.uses:
            yield Problem(
                ("purchases", i, "used"),
                f"{purchase.used} is more than the {template.uses} uses of "
                f"{shown(template.key)}; used is at most {template.uses}",
            )
        if purchase.paid > template.price:
            yield Problem(
                ("purchases", i, "paid"),
                f'"{purchase.paid}" is more than the price of {shown(template.key)} '
                f'("{template.price}"); paid is at most the price',
            )
        if purchase.expires_on is not None and purchase.expires_on < purchase.purchased_on:
            yield Problem(
                ("purchases", i, "expires_on"),
                f"{purchase.expires_on.isoformat()} is before purchased_on "
                f"{purchase.purchased_on.isoformat()}; a package expires after it is bought",
            )


def _membership(spec: ClinicSpec, index: int, membership: MembershipSection) -> Iterable[Problem]:
    paid_through = membership.paid_through
    plan = next((p for p in spec.membership_plans if p.key == membership.plan), None)
    if paid_through is None or plan is None:
        return
    loc: Loc = ("memberships", index, "paid_through")
    if paid_through < membership.start:
        yield Problem(
            loc,
            f"{paid_through.isoformat()} is before start {membership.start.isoformat()}; "
            "leave paid_through out if nothing is paid yet",
        )
        return
    if not plan.auto_invoice:
        yield Problem(
            loc,
            f"plan {shown(plan.key)} has auto_invoice = false, so no invoices are made to mark "
            "paid; leave paid_through out or turn auto_invoice on",
        )
        return
    n = 0
    while (end := period_start(membership.start, plan.period, n + 1) - timedelta(days=1)) \
            < paid_through:
        n += 1
    if end != paid_through:
        before = period_start(membership.start, plan.period, n) - timedelta(days=1)
        options = [day.isoformat() for day in (before, end) if day >= membership.start]
        yield Problem(
            loc,
            f"{paid_through.isoformat()} is not the last day of a {plan.period} period counted "
            f"from {membership.start.isoformat()}; use {' or '.join(options)}",
        )


def _region(spec: ClinicSpec) -> str | None:
    phone = spec.clinic.phone
    if phone is not None and phone.startswith("+"):
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
            if region and region != "ZZ":
                return str(region)
        except phonenumbers.NumberParseException:
            pass
    territory = Locale.parse(spec.clinic.locale).territory
    return str(territory) if territory else None


def normalise_phone(raw: str, region: str | None) -> str:
    """``raw`` in E.164, read in ``region`` unless it starts with +; ValueError if not a number."""
    where = f"in {region}" if region else "without a country"
    hint = (
        'write it as +E.164 (e.g. "+14165550101")'
        + (f" or as dialled in {region}" if region else "")
    )
    if not raw.startswith("+") and region is None:
        raise ValueError(f"{shown(raw)} has no country code; {hint}")
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{shown(raw)} is not a phone number; {hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{shown(raw)} is not a valid phone number {where}; {hint}")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _phones(spec: ClinicSpec) -> Iterable[Problem]:
    region = None
    try:
        region = _region(spec)
    except ValueError:
        region = None
    if spec.clinic.phone is not None:
        try:
            spec.clinic.phone = normalise_phone(spec.clinic.phone, region)
        except ValueError as exc:
            yield Problem(("clinic", "phone"), str(exc))
    people: list[tuple[str, Sequence[PatientSection | StaffSection]]] = [
        ("patients", spec.patients), ("staff", spec.staff)]
    for section, rows in people:
        for i, person in enumerate(rows):
            if person.phone is None:
                continue
            try:
                person.phone = normalise_phone(person.phone, region)
            except ValueError as exc:
                yield Problem((section, i, "phone"), str(exc))
