"""``clinicbot jobs run --dry-run``: what a run would create and send, writing and sending nothing.

:func:`preview` runs the very sweeps and delivery pass of a real run
(:func:`bot.scheduler.jobs.run_sweeps`, :class:`bot.delivery.sender.Deliverer`), except that

* every unit of work they open is a :class:`PreviewUnitOfWork`: its session joins one database
  transaction opened for the preview, and each of its own transactions is a savepoint in it, so
  its ``commit`` only releases the savepoint (the next sweep sees the change, as in a real run);
  the preview's transaction is rolled back at the end whatever happened, so nothing reaches the
  database, not even what a sweep that commits as it goes committed;
* the channels are :class:`PreviewChannel`\\ s: they note the message and call no provider.

Those units of work take turns on the one connection (the delivery pass works on several
destinations at once). On SQLite the preview holds the write lock while it runs (like a sweep);
on PostgreSQL, ids drawn from sequences by rows the preview created are not reused (sequences
are not transactional), which leaves gaps in ids and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from bot.clock import Clock
from bot.delivery.channels import Channels
from bot.delivery.sender import Deliverer
from bot.dialogs.types import Option
from bot.scheduler.jobs import RunReport, run_sweeps
from bot.services.clinic import get_clinic
from bot.services.reminders import recipient_for
from bot.storage.models import Appointment, Invoice, NoShow, OutboxMessage
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class Turns:
    """The preview's one connection, used by one task's units of work at a time (a unit of
    work opened inside another, in the same task, goes ahead: a savepoint inside its own)."""

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection) -> None:
        self.engine = engine
        self.connection = connection
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    async def take(self) -> bool:
        """Wait for this task's turn; whether it was taken (and must be given back)."""
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            return False
        await self._lock.acquire()
        self._owner = task
        return True

    def give_back(self) -> None:
        self._owner = None
        self._lock.release()


class PreviewUnitOfWork(UnitOfWork):
    """A unit of work inside the preview's transaction (see the module docstring)."""

    def __init__(self, turns: Turns, clock: Clock, *, readonly: bool = False) -> None:
        super().__init__(turns.engine, clock, readonly=readonly)
        self.turns = turns
        self._turn = False
        self._factory = async_sessionmaker(
            bind=turns.connection, join_transaction_mode="create_savepoint",
            expire_on_commit=False, autoflush=True,
        )

    async def __aenter__(self) -> PreviewUnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        self._turn = await self.turns.take()
        self._session = self._factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            if self._turn:
                self._turn = False
                self.turns.give_back()

    async def checkpoint(self) -> None:
        """Nothing is committed in a preview: only flush, and let others run."""
        await self.session.flush()
        await asyncio.sleep(0)

    def fresh(self, *, readonly: bool = False) -> UnitOfWork:
        return PreviewUnitOfWork(self.turns, self.clock, readonly=readonly)


class PreviewChannel:
    """A channel that sends nothing: it counts what it was given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.given = 0

    async def send(self, address: str, text: str, options: Sequence[Option] = ()) -> str:
        del address, text, options
        self.given += 1
        return f"preview:{self.name}:{self.given}"


class PreviewDeliverer(Deliverer):
    """The delivery pass on :class:`PreviewUnitOfWork`\\ s."""

    def __init__(self, turns: Turns, clock: Clock, channels: Channels) -> None:
        super().__init__(turns.engine, clock, channels)
        self.turns = turns

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return PreviewUnitOfWork(self.turns, self.clock, readonly=readonly)


@dataclass(frozen=True)
class NewInvoice:
    patient_id: int
    description: str
    amount: Decimal
    due_on: date


@dataclass(frozen=True)
class Message:
    """An outbox row: what, to whom (``to``: e.g. ``guardian 1 (for patient 2)``), and for
    the delivery, what would become of it."""

    purpose: str
    kind: str
    to: str
    outcome: str = ""


@dataclass
class Preview:
    """What a run as of the preview's moment would do."""

    report: RunReport
    invoices: list[NewInvoice] = field(default_factory=list)
    queued: list[Message] = field(default_factory=list)
    no_shows: list[tuple[int, int]] = field(default_factory=list)  # (appointment, patient)
    delivered: list[Message] = field(default_factory=list)


async def preview(db: AsyncEngine, clock: Clock, channel_names: Sequence[str]) -> Preview:
    """Run every sweep and a delivery pass on ``channel_names`` as of ``clock``, say what they
    did, and roll it all back."""
    now = clock.now()
    async with db.connect() as connection:
        await connection.begin()
        try:
            turns = Turns(db, connection)

            def unit() -> UnitOfWork:
                return PreviewUnitOfWork(turns, clock)

            async with unit() as uow:
                marks = [await uow.session.scalar(select(func.coalesce(func.max(model.id), 0)))
                         for model in (Invoice, OutboxMessage, NoShow)]
            report = await run_sweeps(db, clock, unit=unit)
            channels = Channels([PreviewChannel(name) for name in channel_names])
            async with unit() as uow:
                due = await _due(uow, now)
            if channels.names:
                try:
                    report.delivery = await PreviewDeliverer(turns, clock, channels).run_once()
                except Exception:
                    log.exception("the delivery pass failed")
                    report.delivery_failed = True
            async with unit() as uow:
                return await _what_happened(uow, report, marks, due, now)
        finally:
            await connection.rollback()


async def _due(uow: UnitOfWork, now: datetime) -> list[int]:
    """The outbox rows due now (what ``queue.claim_due`` picks from, channels permitting)."""
    stmt = select(OutboxMessage.id).where(or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.not_before <= now),
        and_(OutboxMessage.status == "claimed", OutboxMessage.claimed_until <= now),
    )).order_by(OutboxMessage.not_before, OutboxMessage.id)
    return list((await uow.session.scalars(stmt)).all())


async def _what_happened(
    uow: UnitOfWork, report: RunReport, marks: list[Any], due: list[int], now: datetime
) -> Preview:
    invoice_mark, outbox_mark, no_show_mark = marks
    found = Preview(report)
    invoices = await uow.session.scalars(
        select(Invoice).where(Invoice.id > invoice_mark, Invoice.created_at == now)
        .order_by(Invoice.id))
    found.invoices = [NewInvoice(i.patient_id, i.description, i.amount, i.due_on)
                      for i in invoices]
    no_shows = await uow.session.execute(
        select(NoShow.appointment_id, Appointment.patient_id)
        .join(Appointment, Appointment.id == NoShow.appointment_id)
        .where(NoShow.id > no_show_mark, NoShow.raised_at == now).order_by(NoShow.id))
    found.no_shows = [(appointment, patient) for appointment, patient in no_shows.tuples()]
    queued = await uow.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id > outbox_mark,
                                    OutboxMessage.created_at == now).order_by(OutboxMessage.id))
    found.queued = [Message(m.purpose, m.kind, await _to(uow, m)) for m in queued]
    zone = ZoneInfo((await get_clinic(uow)).timezone)
    for start in range(0, len(due), 500):
        rows = await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(due[start : start + 500])))
        by_id = {row.id: row for row in rows}
        for message_id in due[start : start + 500]:
            row = by_id[message_id]
            found.delivered.append(
                Message(row.purpose, row.kind, await _to(uow, row), _outcome(row, now, zone)))
    return found


async def _to(uow: UnitOfWork, message: OutboxMessage) -> str:
    """Who a message goes to, by kind and id (no names: this is printed)."""
    if message.staff_id is not None:
        return f"staff {message.staff_id}"
    if message.patient_id is None:
        return "nobody"
    recipient = await recipient_for(uow, message.patient_id)
    if recipient is None:
        return f"nobody (patient {message.patient_id} cannot be reached)"
    if recipient.id == message.patient_id:
        return f"patient {recipient.id}"
    return f"guardian {recipient.id} (for patient {message.patient_id})"


def _outcome(row: OutboxMessage, now: datetime, zone: ZoneInfo) -> str:
    if row.status == "sent":
        return f"send by {row.channel}"
    if row.status in ("skipped", "failed"):
        return f"{'skip' if row.status == 'skipped' else 'fail'}: {row.last_error or ''}".strip()
    if row.status == "pending" and row.not_before > now:
        return f"hold until {row.not_before.astimezone(zone):%Y-%m-%d %H:%M} (quiet hours)"
    return "stay queued"
