"""Build the large benchmark clinic into an empty, migrated database.

The base clinic (:mod:`benchmarks.clinic`) goes through the real reader and loader. Patients,
appointments, packages (with their invoices) and memberships (with their invoices to date) are
then bulk-inserted with SQLAlchemy Core ``insert()`` executemany in batches. Every row keeps the
models' invariants: package counters add up (``uses = redeemed + booked + available``), each
practitioner's live appointments never overlap (the PostgreSQL exclusion constraint), one
invoice per membership period and per package installment.

The clinic is built around ``anchor`` (an aware UTC moment on a weekday morning): four-odd years
of past appointments, four weeks of future ones half filled, memberships whose periods of the
last few days are not invoiced yet and whose recent invoices are partly unpaid, so a scheduler
pass at ``anchor`` has thousands of invoices and reminders to create.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from benchmarks import clinic as base
from bot.clinicfile import parse_clinic_text
from bot.clock import FixedClock
from bot.services.periods import add_months, period_start
from bot.services.setup import load_clinic
from bot.services.sweeping import backfill
from bot.storage.models import (
    Appointment,
    Fee,
    Invoice,
    Membership,
    MembershipPlan,
    PackageTemplate,
    Patient,
    PatientPackage,
    Practitioner,
    WorkingHours,
)
from bot.storage.models.packages import package_fee
from bot.storage.uow import UnitOfWork

BATCH = 5000
FUTURE_DAYS = 28
FUTURE_FILL = 0.5
PAST_FILL = 0.9
NOT_INVOICED_DAYS = 4  # membership periods begun this recently are left for the scheduler
UNPAID_SHARE = 0.25
FIRST_NAMES = ("Maya", "Leo", "Sofia", "Omar", "Ana", "Ben", "Chen", "Priya", "Lucas", "Zoe")
LAST_NAMES = ("Chen", "Silva", "Okafor", "Ramirez", "Smith", "Tremblay", "Roy", "Singh", "Nguyen")


@dataclass(frozen=True)
class Scale:
    """How many rows of each kind (the issue's figures times ``factor``)."""

    factor: float = 1.0
    members: int | None = None  # the number of memberships, whatever the factor (None: scaled)

    def of(self, full: int) -> int:
        return max(1, round(full * self.factor))

    @property
    def patients(self) -> int:
        return max(60, self.of(20_000))

    @property
    def appointments(self) -> int:
        return self.of(200_000)

    @property
    def packages(self) -> int:
        return self.of(10_000)

    @property
    def memberships(self) -> int:
        return self.of(20_000) if self.members is None else self.members

    @property
    def tag(self) -> str:
        """A name for this scale in file and database names (``1``, ``0p1``, ``1_m200000``)."""
        factor = f"{self.factor:g}".replace(".", "p").replace("-", "m")
        return factor if self.members is None else f"{factor}_m{self.members}"


@dataclass
class Built:
    """What was built: row counts by table."""

    counts: dict[str, int] = field(default_factory=dict)


def anchor_for(day: date) -> datetime:
    """The benchmark's "now": the last weekday on or before ``day``, 15:00 UTC (clinic morning)."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(15, 0), tzinfo=UTC)


def phone_of(index: int) -> str:
    """The phone of the ``index``-th patient (distinct, valid Toronto numbers)."""
    return f"+1416{2_000_000 + index}"


async def build(db: AsyncEngine, scale: Scale, anchor: datetime) -> Built:
    """Load the base clinic and bulk-insert the rest (the database must be migrated, empty)."""
    rng = random.Random(20_000)
    built = Built()
    async with UnitOfWork(db, FixedClock(anchor)) as uow:
        await load_clinic(uow, parse_clinic_text(base.clinic_toml(), "benchmark clinic"))
        await uow.commit()
    async with db.begin() as conn:
        patient_ids = await _patients(conn, scale, anchor, rng, built)
        await _appointments(conn, scale, anchor, patient_ids, rng, built)
        await _packages(conn, scale, anchor, patient_ids, rng, built)
        await _memberships(conn, scale, anchor, patient_ids, rng, built)
    if db.dialect.name == "postgresql":  # what autovacuum would have done by now
        async with db.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    return built


async def _bulk(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await conn.execute(insert(table), list(rows[start : start + BATCH]))


async def _ids(conn: AsyncConnection, table: Table) -> list[int]:
    return list((await conn.scalars(select(table.c.id).order_by(table.c.id))).all())


async def _patients(
    conn: AsyncConnection, scale: Scale, anchor: datetime, rng: random.Random, built: Built
) -> list[int]:
    rows = [
        {
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": f"{rng.choice(LAST_NAMES)}{index}",
            "phone": phone_of(index),
            "birth_date": date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 60)),
            "locale": rng.choice((None, None, None, "en_CA", "fr", "es")),
            "online_registration": False,
            "opted_out": rng.random() < 0.02,
            "created_at": anchor - timedelta(days=rng.randrange(1, 2000)),
        }
        for index in range(scale.patients)
    ]
    await _bulk(conn, Patient.__table__, rows)  # type: ignore[arg-type]
    built.counts["patients"] = len(rows)
    return await _ids(conn, Patient.__table__)  # type: ignore[arg-type]


async def _appointments(
    conn: AsyncConnection, scale: Scale, anchor: datetime, patient_ids: list[int],
    rng: random.Random, built: Built,
) -> None:
    tz = ZoneInfo("America/Toronto")
    fees = {row.key: row for row in await conn.execute(select(Fee.id, Fee.key, Fee.minutes))}
    blocks = await conn.execute(  # one row per weekday; every weekday has the same block
        select(Practitioner.id, Practitioner.key, WorkingHours.location_id,
               WorkingHours.start, WorkingHours.end)
        .join(WorkingHours, WorkingHours.practitioner_id == Practitioner.id)
        .order_by(Practitioner.key)
    )
    practitioners = list({row.id: row for row in blocks}.values())
    today = anchor.astimezone(tz).date()
    per_practitioner = scale.appointments // len(practitioners)
    rows: list[dict[str, Any]] = []
    for index, pr in enumerate(practitioners):
        offered = [fees[key] for key, *_ in base.discipline_of(index).fees]
        wanted = per_practitioner + (1 if index < scale.appointments % len(practitioners) else 0)
        made = 0
        day = today + timedelta(days=FUTURE_DAYS)
        while made < wanted:  # bounded: every past weekday adds appointments
            if day.weekday() < 5:
                fill = FUTURE_FILL if day > today else PAST_FILL
                wall = datetime.combine(day, pr.start)
                stop = datetime.combine(day, pr.end)
                while wall < stop and made < wanted:
                    fee = rng.choice(offered)
                    ends = wall + timedelta(minutes=fee.minutes)
                    if ends <= stop and rng.random() < fill:
                        rows.append(_appointment(pr, fee, wall, ends, tz, anchor, patient_ids, rng))
                        made += 1
                    wall = ends
            day -= timedelta(days=1)
    await _bulk(conn, Appointment.__table__, rows)  # type: ignore[arg-type]
    built.counts["appointments"] = len(rows)


def _appointment(
    pr: Any, fee: Any, wall: datetime, ends: datetime, tz: ZoneInfo, anchor: datetime,
    patient_ids: list[int], rng: random.Random,
) -> dict[str, Any]:
    starts_at = wall.replace(tzinfo=tz).astimezone(UTC)
    ends_at = ends.replace(tzinfo=tz).astimezone(UTC)
    roll = rng.random()
    if starts_at >= anchor:
        status = "cancelled" if roll < 0.05 else "booked"
    elif anchor - starts_at < timedelta(days=1):
        status = "booked" if roll < 0.2 else "arrived"  # some no-shows left to raise
    else:
        status = "cancelled" if roll < 0.08 else "arrived"
    created = min(starts_at, anchor) - timedelta(days=rng.randrange(1, 30))
    return {
        "patient_id": rng.choice(patient_ids), "practitioner_id": pr.id,
        "location_id": pr.location_id, "fee_id": fee.id, "starts_at": starts_at,
        "ends_at": ends_at, "status": status,
        "booked_by": "patient" if roll < 0.5 else "staff", "created_at": created,
        "cancelled_at": created + timedelta(hours=1) if status == "cancelled" else None,
        "arrived_at": starts_at if status == "arrived" else None,
    }


async def _packages(
    conn: AsyncConnection, scale: Scale, anchor: datetime, patient_ids: list[int],
    rng: random.Random, built: Built,
) -> None:
    table = PackageTemplate.__table__
    templates = list(await conn.execute(select(table).order_by(table.c.id)))
    links = {
        row.package_template_id: row.fee_id
        for row in await conn.execute(text("SELECT package_template_id, fee_id FROM template_fee"))
    }
    today = anchor.date()
    plan: list[tuple[Any, date]] = []
    rows: list[dict[str, Any]] = []
    for _ in range(scale.packages):
        template = rng.choice(templates)
        bought = today - timedelta(days=rng.randrange(0, 300))
        redeemed = rng.randrange(0, template.uses)
        rows.append({
            "patient_id": rng.choice(patient_ids), "template_id": template.id,
            "name": template.name, "price": template.price,
            "patient_pays": template.patient_pays, "installments": template.installments,
            "uses": template.uses, "redeemed": redeemed, "booked": 0,
            "available": template.uses - redeemed, "purchased_on": bought,
            "expires_on": bought + timedelta(days=template.valid_days)
            if template.valid_days else None,
            "paid_enough": rng.random() < 0.95,
            "created_at": datetime.combine(bought, time(15), tzinfo=UTC),
        })
        plan.append((template, bought))
    await _bulk(conn, PatientPackage.__table__, rows)  # type: ignore[arg-type]
    ids = await _ids(conn, PatientPackage.__table__)  # type: ignore[arg-type]
    await _bulk(conn, package_fee, [
        {"patient_package_id": pid, "fee_id": links[template.id]}
        for pid, (template, _) in zip(ids, plan, strict=True)
    ])
    invoices: list[dict[str, Any]] = []
    for pid, row, (template, bought) in zip(ids, rows, plan, strict=True):
        parts = template.installments
        amount = (template.price / parts).quantize(Decimal("0.01"))
        for number in range(1, parts + 1):
            due = add_months(bought, number - 1)
            paid = due < today - timedelta(days=40) or rng.random() > UNPAID_SHARE
            invoices.append({
                "patient_id": row["patient_id"],
                "kind": "package" if parts == 1 else "installment",
                "description": template.name if parts == 1
                else f"{template.name} ({number}/{parts})",
                "amount": amount, "paid": amount if paid else Decimal("0"),
                "status": "paid" if paid else "open", "issued_on": due, "due_on": due,
                "package_id": pid, "installment_no": None if parts == 1 else number,
                "created_at": row["created_at"],
            })
    await _bulk(conn, Invoice.__table__, invoices)  # type: ignore[arg-type]
    built.counts["packages"] = len(rows)
    built.counts["package invoices"] = len(invoices)


async def _memberships(
    conn: AsyncConnection, scale: Scale, anchor: datetime, patient_ids: list[int],
    rng: random.Random, built: Built,
) -> None:
    """Memberships and their invoices to date, streamed: ``BATCH`` memberships at a time are
    inserted (their ids returned in order), then their invoices, so memory stays flat whatever
    ``scale.memberships`` is (200,000 memberships have about 1.5 million invoices)."""
    plans = {row.key: row for row in await conn.execute(select(MembershipPlan.__table__))}
    monthly, annual = plans["wellness-monthly"], plans["wellness-annual"]
    table, invoice_table = Membership.__table__, Invoice.__table__
    add = insert(table).returning(table.c.id, sort_by_parameter_order=True)  # type: ignore[attr-defined]
    today = anchor.date()
    invoiced_until = today - timedelta(days=NOT_INVOICED_DAYS)
    built.counts["memberships"] = built.counts["membership invoices"] = 0
    begun: set[tuple[int, int, date]] = set()
    for first in range(0, scale.memberships, BATCH):
        rows: list[dict[str, Any]] = []
        for index in range(first, min(first + BATCH, scale.memberships)):
            chosen = monthly if rng.random() < 0.85 else annual
            start = today - timedelta(days=rng.randrange(0, 240 if chosen is monthly else 400))
            patient_id = patient_ids[index % len(patient_ids)]
            while (patient_id, chosen.id, start) in begun:  # one per patient, plan and day
                start -= timedelta(days=1)
            begun.add((patient_id, chosen.id, start))
            cancelled = (start + timedelta(days=rng.randrange(30, 200))
                         if rng.random() < 0.05 else None)
            rows.append({
                "patient_id": patient_id, "plan_id": chosen.id,
                "start": start, "cancelled_from": cancelled,
                "created_at": datetime.combine(start, time(15), tzinfo=UTC),
            })
        ids = list((await conn.scalars(add, rows)).all())
        invoices: list[dict[str, Any]] = []
        for mid, row in zip(ids, rows, strict=True):
            chosen = monthly if row["plan_id"] == monthly.id else annual
            invoices.extend(_period_invoices(mid, row, chosen, invoiced_until, today, rng))
        await _bulk(conn, invoice_table, invoices)  # type: ignore[arg-type]
        built.counts["memberships"] += len(rows)
        built.counts["membership invoices"] += len(invoices)
    # The sweeps' cursors as migration 0012 leaves an existing clinic (its set-based backfill).
    for statement in backfill(conn.dialect.name):
        await conn.execute(text(statement))


def _period_invoices(mid: int, row: dict[str, Any], chosen: Any, invoiced_until: date,
                     today: date, rng: random.Random) -> list[dict[str, Any]]:
    """One membership's invoices, one per period begun up to ``invoiced_until``."""
    invoices: list[dict[str, Any]] = []
    index = 0
    while (start := period_start(row["start"], chosen.period, index)) <= invoiced_until:
        if row["cancelled_from"] is not None and start >= row["cancelled_from"]:
            break
        paid = start < today - timedelta(days=35) or rng.random() > UNPAID_SHARE
        invoices.append({
            "patient_id": row["patient_id"], "kind": "membership",
            "description": f"{chosen.name} {start.isoformat()}",
            "amount": chosen.price, "paid": chosen.price if paid else Decimal("0"),
            "status": "paid" if paid else "open", "issued_on": start, "due_on": start,
            "membership_id": mid, "period_start": start,
            "period_end": period_start(row["start"], chosen.period, index + 1),
            "created_at": datetime.combine(start, time(15), tzinfo=UTC),
        })
        index += 1
    return invoices
