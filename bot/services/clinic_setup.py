"""The clinic's set-up (locations, practitioners, their weekly hours, fees, closed times) as one
shared copy.

Every dialog turn reads the clinic row and booking turns consult the set-up many times;
reading them from the database each time cost more than the rest of a turn. :func:`clinic_setup`
keeps one immutable copy per database engine, with the clinic row, and checks it once per
transaction against ``clinic.setup_version`` (one small query). Any flush that adds, changes or
deletes the clinic, a location, practitioner, working hours, fee or closure adds one to that
version in the same transaction (a session event below), so a change made by ``clinicbot load``,
by staff or by another instance is seen by the next transaction of every process. A copy read
inside a transaction that changed the set-up is not shared (the transaction may still roll
back).

Rules stay in the services: this is read-only data for choosing what to offer.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from itertools import chain
from typing import TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, UOWTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from bot.services.errors import NotFound
from bot.storage.models import (
    Clinic,
    Closure,
    Fee,
    Location,
    Practitioner,
    WorkingHours,
    fee_practitioner,
)
from bot.storage.uow import UnitOfWork

SETUP_MODELS = (Clinic, Location, Practitioner, WorkingHours, Fee, Closure)
CHANGED = "setup changed"
# Run on every transaction that reads the set-up: a Core statement on the connection, no ORM.
_CLINIC = Clinic.__table__.c
VERSION = select(_CLINIC.setup_version).where(_CLINIC.id == 1)
# The same, as a column another hot statement can carry (the dialog engine's conversation
# lookup): see :func:`version_seen`.
VERSION_COLUMN = VERSION.scalar_subquery().label("setup_version")
_VERSION_SEEN = "clinic setup version"
NO_CLINIC = "no clinic is set up yet; run 'clinicbot load FILE.toml' first"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """One weekly block at one location: ``weekday`` 0 = Monday, local ``start`` < ``end``."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class PlaceFacts:
    """A location, as booking shows it."""

    id: int
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class PractitionerFacts:
    """A practitioner, as booking shows them."""

    id: int
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class FeeFacts:
    """A fee (treatment type) and who gives it."""

    id: int
    key: str
    name: str
    minutes: int
    price: Decimal
    practitioner_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class ClosedFacts:
    """Closed time ``[starts_at, ends_at)`` (UTC): a practitioner's time off (at every
    location) when ``practitioner_id`` is set, else the clinic closed at ``location_id`` (None:
    everywhere)."""

    practitioner_id: int | None
    location_id: int | None
    starts_at: datetime
    ends_at: datetime

    def applies(self, practitioner_id: int, location_id: int) -> bool:
        """Whether it closes this practitioner's time at this location."""
        if self.practitioner_id is not None:
            return self.practitioner_id == practitioner_id
        return self.location_id is None or self.location_id == location_id


@dataclass(frozen=True)
class ClinicSetup:
    """One version of the set-up. ``clinic`` is a detached row, never to be changed (sessions
    get their own copy: :func:`bot.services.clinic.get_clinic`); ``fees`` in the clinic's order
    (by id); ``week`` holds every practitioner's weekly blocks by (practitioner id, location);
    ``closed`` every closure and time off, by start."""

    version: int
    clinic: Clinic
    locations: dict[int, PlaceFacts]
    practitioners: dict[int, PractitionerFacts]
    fees: dict[int, FeeFacts]
    week: dict[tuple[int, int], list[WeeklyHours]]
    closed: tuple[ClosedFacts, ...] = ()

    def closed_during(
        self, practitioner_id: int, location_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The closed intervals of this practitioner at this location overlapping [start, end)."""
        return [
            (c.starts_at, c.ends_at) for c in self.closed
            if c.starts_at < end and c.ends_at > start and c.applies(practitioner_id, location_id)
        ]

    def fee(self, fee_id: int) -> FeeFacts:
        """A fee by id, or NotFound."""
        return _one(self.fees, fee_id, "fee")

    def practitioner(self, practitioner_id: int) -> PractitionerFacts:
        """A practitioner by id, or NotFound."""
        return _one(self.practitioners, practitioner_id, "practitioner")

    def location(self, location_id: int) -> PlaceFacts:
        """A location by id, or NotFound."""
        return _one(self.locations, location_id, "location")


def _one(rows: dict[int, T], row_id: int, what: str) -> T:
    found = rows.get(row_id)
    if found is None:
        raise NotFound(f"there is no {what} {row_id}")
    return found


_SHARED: weakref.WeakKeyDictionary[Engine, ClinicSetup] = weakref.WeakKeyDictionary()


async def clinic_setup(uow: UnitOfWork) -> ClinicSetup:
    """The set-up as this unit of work sees it (the shared copy while it is current).

    Checked once per transaction, and again after a flush that changed the set-up.
    """
    session = uow.session
    if _changes_setup(session.sync_session):
        await session.flush()  # a change not yet flushed must count, as a query would see it
    changes = session.info.get(CHANGED, 0)
    return await uow.remember(("clinic setup", changes), lambda: _current(uow, changes))


def version_seen(uow: UnitOfWork, version: int | None) -> None:
    """Record the set-up version another statement of this transaction read
    (:data:`VERSION_COLUMN`), so that :func:`clinic_setup` does not read it again."""
    uow.note(_VERSION_SEEN, version)


async def _current(uow: UnitOfWork, changes: int) -> ClinicSetup:
    if changes:  # this transaction changed the set-up: read what it wrote
        version = await _version(uow)
    else:
        version = await uow.remember(_VERSION_SEEN, lambda: _version(uow))
    if version is None:
        raise NotFound(NO_CLINIC)
    engine = uow.engine.sync_engine
    shared = _SHARED.get(engine)
    if shared is not None and shared.version == version:
        return shared
    setup = await _read(uow, version)
    if not changes:
        _SHARED[engine] = setup
    return setup


async def _version(uow: UnitOfWork) -> int | None:
    version: int | None = await (await uow.connection()).scalar(VERSION)
    return version


async def _read(uow: UnitOfWork, version: int) -> ClinicSetup:
    run = uow.session.execute
    # Read afresh (after the version): a row this session held may predate the change.
    clinic = await uow.session.get(Clinic, 1, populate_existing=True)
    if clinic is None:
        raise NotFound(NO_CLINIC)
    template = Clinic(**{c.key: getattr(clinic, c.key) for c in Clinic.__mapper__.column_attrs})
    make_transient_to_detached(template)
    places = await run(select(Location.id, Location.key, Location.name))
    locations = {r.id: PlaceFacts(r.id, r.key, r.name) for r in places}
    practitioners = {
        r.id: PractitionerFacts(r.id, r.key, r.name)
        for r in await run(select(Practitioner.id, Practitioner.key, Practitioner.name))
    }
    givers: dict[int, set[int]] = {}
    for link in await run(select(fee_practitioner.c.fee_id, fee_practitioner.c.practitioner_id)):
        givers.setdefault(link.fee_id, set()).add(link.practitioner_id)
    treatments = select(Fee.id, Fee.key, Fee.name, Fee.minutes, Fee.price).order_by(Fee.id)
    fees = {
        r.id: FeeFacts(r.id, r.key, r.name, r.minutes, r.price, frozenset(givers.get(r.id, ())))
        for r in await run(treatments)
    }
    week: dict[tuple[int, int], list[WeeklyHours]] = {}
    hours = select(WorkingHours.practitioner_id, WorkingHours.location_id, WorkingHours.weekday,
                   WorkingHours.start, WorkingHours.end).order_by(WorkingHours.id)
    for r in await run(hours):
        week.setdefault((r.practitioner_id, r.location_id), []).append(
            WeeklyHours(r.weekday, r.start, r.end))
    closures = select(Closure.practitioner_id, Closure.location_id, Closure.starts_at,
                      Closure.ends_at).order_by(Closure.starts_at, Closure.id)
    closed = tuple(ClosedFacts(r.practitioner_id, r.location_id, r.starts_at, r.ends_at)
                   for r in await run(closures))
    return ClinicSetup(version, template, locations, practitioners, fees, week, closed)


# -- keeping the version -------------------------------------------------------------------

BUMP = (
    update(Clinic).where(Clinic.id == 1)
    .values(setup_version=Clinic.setup_version + 1)
    .returning(Clinic.setup_version)
)


@event.listens_for(Session, "after_flush")
def _note_setup_change(session: Session, flush: UOWTransaction) -> None:
    """Remember that this flush changed the set-up (new/dirty/deleted still show it here)."""
    del flush
    if _changes_setup(session):
        session.info[CHANGED] = session.info.get(CHANGED, 0) + 1
        session.info["setup bump due"] = True


def _changes_setup(session: Session) -> bool:
    """Whether the session's pending rows (in ``after_flush``: the ones just flushed) change
    the set-up; a dirty row only with a real change (an attribute set to its own value: none)."""
    if any(isinstance(o, SETUP_MODELS) for o in chain(session.new, session.deleted)):
        return True
    return any(isinstance(o, SETUP_MODELS) and session.is_modified(o) for o in session.dirty)


@event.listens_for(Session, "after_flush_postexec")
def _bump_setup_version(session: Session, flush: UOWTransaction) -> None:
    """Add one to the clinic's set-up version, in the transaction that changed the set-up."""
    del flush
    if not session.info.pop("setup bump due", False):
        return
    version = session.connection().execute(BUMP).scalar()
    clinic = session.identity_map.get(session.identity_key(Clinic, 1))
    if clinic is not None and version is not None:
        set_committed_value(clinic, "setup_version", version)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_over(session: Session) -> None:
    session.info.pop(CHANGED, None)
    session.info.pop("setup bump due", None)
