"""The sections and keys of a clinic set-up file (schema: clinic.example.toml here).

Pydantic models with ``extra="forbid"`` and strict types: a key the schema does not know, a
number in quotes or money written as a number is an error, never silently coerced. Defaults are
the ones the example file's comments state. Checks that need more than one value (references,
overlapping hours, purchases against their template) live in :mod:`bot.clinicfile.checks`.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.clinicfile.fields import (
    Currency,
    Day,
    DayOrTime,
    Email,
    HourMinute,
    Key,
    LocaleCode,
    Money,
    Name,
    Ref,
    TimeZone,
    Weekday,
)
from bot.storage.types import MAX_INT64, MAX_USES

ZERO = Decimal("0.00")
AlertKind = Literal[
    "no_show", "registration", "unpaid", "message", "delivery_failed", "data_request"]
# Every number has a bound a clinic never reaches, so none overflows a column or a date.
Uses = Annotated[int, Field(ge=1, le=MAX_USES)]
Days = Annotated[int, Field(ge=1, le=3660)]  # up to ten years
NoticeDays = Annotated[int, Field(ge=0, le=366)]
ChatId = Annotated[int, Field(ge=-MAX_INT64 - 1, le=MAX_INT64)]
Phone = Annotated[str, Field(min_length=1, max_length=40)]


class Section(BaseModel):
    """A table of the file: unknown keys and loose types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ClinicSection(Section):
    """``[clinic]``: who the clinic is and its booking policy."""

    name: Name
    timezone: TimeZone
    currency: Currency
    locale: LocaleCode
    phone: Phone | None = None
    slot_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    booking_horizon_days: Annotated[int, Field(ge=1, le=730)] = 28
    min_notice_minutes: Annotated[int, Field(ge=0, le=43200)] = 120
    cancel_notice_hours: Annotated[int, Field(ge=0, le=720)] = 24
    quiet_hours: Annotated[list[HourMinute], Field(min_length=2, max_length=2)] | None = None
    no_show_grace_minutes: Annotated[int, Field(ge=0, le=1440)] = 15


class LocationSection(Section):
    """``[[locations]]``: a place where practitioners see patients."""

    key: Key
    name: Name
    address: Annotated[str, Field(max_length=300)] | None = None


class HoursBlock(Section):
    """One entry of a practitioner's ``hours``: at a location, on these days, from start to end."""

    location: Ref
    days: Annotated[list[Weekday], Field(min_length=1)]
    start: HourMinute
    end: HourMinute


class PractitionerSection(Section):
    """``[[practitioners]]``: someone who treats patients, and their weekly hours."""

    key: Key
    name: Name
    title: Annotated[str, Field(max_length=200)] | None = None
    hours: list[HoursBlock] = []


class FeeSection(Section):
    """``[[fees]]``: a billable treatment type and who gives it."""

    key: Key
    name: Name
    minutes: Annotated[int, Field(ge=1, le=1440)]
    price: Money
    practitioners: Annotated[list[Ref], Field(min_length=1)]


class NoShowFeeSection(Section):
    """``[[no_show_fees]]``: what the clinic may charge for a missed appointment."""

    key: Key
    name: Name
    price: Money


class PackageTemplateSection(Section):
    """``[[package_templates]]``: N uses of the eligible fees, sold up front (RULES.md 1)."""

    key: Key
    name: Name
    price: Money
    uses: Uses
    eligible_fees: Annotated[list[Ref], Field(min_length=1)]
    patient_pays: Money = ZERO
    valid_days: Days | None = None
    practitioners: list[Ref] = []
    locations: list[Ref] = []
    online_purchase: bool = False
    installments: Annotated[int, Field(ge=1, le=60)] = 1
    insurance_friendly: bool = False  # a receipt per redeemed session (bot/services/receipts.py)


class MembershipPlanSection(Section):
    """``[[membership_plans]]``: billed every period from the member's start (RULES.md 13)."""

    key: Key
    name: Name
    price: Money
    period: Literal["monthly", "annual"]
    auto_invoice: bool = True
    remind_days_before: NoticeDays | None = None


class RemindersSection(Section):
    """``[reminders]``: when reminders go out; omitted values mean no such reminder."""

    unpaid_invoice_days: Annotated[list[Days], Field(max_length=20)] = []
    appointment_hours_before: Annotated[int, Field(ge=1, le=720)] | None = None
    package_expiry_days_before: Annotated[int, Field(ge=1, le=366)] | None = None


class BookingSection(Section):
    """``[booking]`` (optional): how the waitlist offers freed times (issue 19), and deposits.

    ``waitlist_batch``: how many waiting patients are offered one freed time at once (first to
    accept books it); ``waitlist_hold_minutes``: how long each offer is held for them.
    ``deposit`` (issue 20; omitted: none): what a patient pays to book without a package (at
    most the fee's price); ``deposit_hold_minutes``: how long an unpaid deposit holds the time
    before it is released (bot/services/deposits.py).
    """

    waitlist_batch: Annotated[int, Field(ge=1, le=20)] = 1
    waitlist_hold_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    deposit: Money | None = None
    deposit_hold_minutes: Annotated[int, Field(ge=5, le=10080)] = 120


class RetentionSection(Section):
    """``[retention]`` (optional): how long records are kept (issue 21, README "Patient data").

    ``message_texts_days``: texts of messages sent and received (blanked after);
    ``inbound_ids_days``: the ids of SMS received, kept to recognise a replayed delivery
    (Telegram's are kept a week, as its ids are reused); ``audit_years``: the audit log.
    """

    message_texts_days: Annotated[int, Field(ge=1, le=3660)] = 90
    inbound_ids_days: Annotated[int, Field(ge=7, le=3660)] = 400
    audit_years: Annotated[int, Field(ge=1, le=30)] = 7


class StaffSection(Section):
    """``[[staff]]``: who receives alerts in chat (or, with ``phone``, by SMS), and as which
    role."""

    key: Key
    name: Name
    role: Literal["reception", "practitioner", "manager"]
    practitioner: Ref | None = None
    telegram_chat_id: ChatId | None = None
    phone: Phone | None = None
    alerts: list[AlertKind] = []


class PatientSection(Section):
    """``[[patients]]``: a patient already on file; ``guardians`` may act for them."""

    key: Key
    first_name: Annotated[str, Field(min_length=1, max_length=100)]
    last_name: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Phone | None = None
    email: Email | None = None
    birth_date: Day | None = None
    locale: LocaleCode | None = None
    guardians: list[Ref] = []


class PurchaseSection(Section):
    """``[[purchases]]``: a package bought before the import, with what was paid and used."""

    patient: Ref
    template: Ref
    purchased_on: Day
    paid: Money = ZERO
    used: Annotated[int, Field(ge=0, le=MAX_USES)] = 0
    expires_on: Day | None = None


class MembershipSection(Section):
    """``[[memberships]]``: a member since ``start``; periods through ``paid_through`` paid."""

    patient: Ref
    plan: Ref
    start: Day
    paid_through: Day | None = None


Reason = Annotated[str, Field(min_length=1, max_length=200)]


class ClosedTime(Section):
    """Closed from ``from`` to ``to``, clinic time: a date is a whole day (as ``to``: through
    its end), a "YYYY-MM-DD HH:MM" a moment; no ``to`` after a date: that one day."""

    start: DayOrTime = Field(alias="from")
    end: DayOrTime | None = Field(default=None, alias="to")
    reason: Reason | None = None


class ClosureSection(ClosedTime):
    """``[[closures]]``: the clinic closed (a holiday) at ``locations`` (empty: all of them)."""

    locations: list[Ref] = []


class TimeOffSection(ClosedTime):
    """``[[time_off]]``: a practitioner away, at every location."""

    practitioner: Ref


class ClinicSpec(Section):
    """A whole set-up file, validated. Phones are normalised to E.164 by the checks."""

    clinic: ClinicSection
    locations: list[LocationSection] = []
    practitioners: list[PractitionerSection] = []
    fees: list[FeeSection] = []
    no_show_fees: list[NoShowFeeSection] = []
    package_templates: list[PackageTemplateSection] = []
    membership_plans: list[MembershipPlanSection] = []
    reminders: RemindersSection = RemindersSection()
    booking: BookingSection = BookingSection()
    retention: RetentionSection = RetentionSection()
    staff: list[StaffSection] = []
    patients: list[PatientSection] = []
    purchases: list[PurchaseSection] = []
    memberships: list[MembershipSection] = []
    closures: list[ClosureSection] = []
    time_off: list[TimeOffSection] = []


def quiet_window(clinic: ClinicSection) -> tuple[time | None, time | None]:
    """``quiet_hours`` as (start, end), or (None, None) when the clinic has none."""
    if clinic.quiet_hours is None:
        return None, None
    return clinic.quiet_hours[0], clinic.quiet_hours[1]

