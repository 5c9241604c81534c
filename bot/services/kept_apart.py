"""Keep separate (RULES.md 18, issue 17): staff decide an online registration is NOT the
profile it resembles, so the registrations queue and ``clinicbot staff duplicates`` stop
offering that pair.

The decision is a row of ``kept_apart`` (lowest id first) with who and when, and an audit entry
(``patient.keep_separate``; undone: ``patient.keep_separate_undo``). Keeping a pair apart twice
is no error (two staff clicking at once both succeed; one row is kept). Undo deletes the row:
the pair is offered again if it still resembles;
:func:`bot.services.accounts.likely_duplicates` leaves kept pairs out.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.services import audit
from bot.services.errors import InvalidInput, NotFound
from bot.storage.models import KeptApart, Patient
from bot.storage.uow import UnitOfWork


async def _live(uow: UnitOfWork, patient_id: int) -> Patient:
    patient = await uow.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"there is no patient {patient_id}")
    if patient.merged_into_id is not None:
        raise InvalidInput(
            f"patient {patient_id} was merged into patient {patient.merged_into_id}; "
            "use that one")
    return patient


def _pair(first: int, second: int) -> tuple[int, int]:
    if first == second:
        raise InvalidInput("choose two different patients to keep separate")
    return min(first, second), max(first, second)


async def is_kept_apart(uow: UnitOfWork, first: int, second: int) -> bool:
    """Whether staff kept these two patients separate."""
    low, high = _pair(first, second)
    found = await uow.session.scalar(select(KeptApart.id).where(
        KeptApart.low_id == low, KeptApart.high_id == high))
    return found is not None


async def keep_separate(uow: UnitOfWork, first: int, second: int, *, by: str,
                        actor: audit.Actor | None = None) -> KeptApart:
    """Record that ``first`` and ``second`` (live profiles) are different people."""
    low, high = _pair(first, second)
    await _live(uow, low)
    await _live(uow, high)
    existing = await uow.session.scalar(select(KeptApart).where(
        KeptApart.low_id == low, KeptApart.high_id == high))
    if existing is not None:
        return existing
    seen = await audit.watch(uow, actor, patient_id=first)
    row = KeptApart(low_id=low, high_id=high, kept_by=by, kept_at=uow.clock.now())
    try:
        async with uow.session.begin_nested():
            uow.session.add(row)
            await uow.session.flush()
    except IntegrityError:  # another staff member kept the same pair a moment ago
        raced = await uow.session.scalar(select(KeptApart).where(
            KeptApart.low_id == low, KeptApart.high_id == high))
        if raced is None:
            raise
        return raced
    await seen.record("patient.keep_separate",
                      summary=f"patients {first} and {second} kept separate")
    return row


async def undo(uow: UnitOfWork, first: int, second: int, *,
               actor: audit.Actor | None = None) -> bool:
    """Forget that decision (the pair is offered again if it still resembles); False when the
    pair was not kept apart."""
    low, high = _pair(first, second)
    seen = await audit.watch(uow, actor, patient_id=first)
    gone = await uow.session.execute(delete(KeptApart).where(
        KeptApart.low_id == low, KeptApart.high_id == high))
    if not gone.rowcount:  # type: ignore[attr-defined]
        return False
    await seen.record("patient.keep_separate_undo",
                      summary=f"patients {first} and {second} no longer kept separate")
    return True
