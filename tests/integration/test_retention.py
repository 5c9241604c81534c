"""Retention (issue 21): the set-up file's ``[retention]`` reaches the clinic, the sweep blanks
expired message texts and deletes expired audit entries a chunk at a time (more rows than one
chunk here), never a text still to be sent, and two sweeps at once prune each row once; SMS ids
are kept as long as ``inbound_ids_days`` says.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from bot.clinicfile import parse_clinic_text
from bot.clock import FixedClock
from bot.services import inbound, retention
from bot.services.setup import load_clinic
from bot.services.sweeping import chunk_size
from bot.storage.models import AuditEntry, Clinic, InboundMessage, InboxItem, OutboxMessage
from tests.conftest import EXAMPLE_FILE

pytestmark = pytest.mark.usefixtures("clinic")
NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
OLD, FRESH = NOW - timedelta(days=91), NOW - timedelta(days=89)


async def _fill(make_uow, old: int) -> None:
    """``old`` expired texts of each kind and audit entries, plus fresh and unsent ones."""
    def outbox(n: int, at: datetime, status: str = "sent") -> dict[str, object]:
        return {"purpose": f"test:{status}:{at.isoformat()}:{n}", "kind": "test", "params": {},
                "body": "Your visit", "status": status, "not_before": at, "attempts": 0,
                "created_at": at}

    async with make_uow() as uow:
        await uow.session.execute(insert(OutboxMessage), [
            *(outbox(n, OLD) for n in range(old)), outbox(0, FRESH),
            outbox(0, OLD, "pending")])
        await uow.session.execute(insert(InboxItem), [
            {"key": f"test:{n}", "kind": "message", "text": "my knee", "params": {},
             "created_at": at} for n, at in enumerate((OLD, FRESH))])
        await uow.session.execute(insert(AuditEntry), [
            {"at": at, "staff": "desk", "face": "cli", "action": "test", "before": {},
             "after": {}, "summary": ""}
            for at in [NOW - timedelta(days=365 * 7 + 3)] * old + [NOW - timedelta(days=300)]])
        await uow.commit()


async def _left(make_uow) -> tuple[int, int, int, int]:
    async with make_uow(readonly=True) as uow:
        count = func.count()
        return (
            await uow.session.scalar(select(count).where(OutboxMessage.body.is_not(None))),
            await uow.session.scalar(select(count).where(
                OutboxMessage.body.is_not(None), OutboxMessage.status == "pending")),
            await uow.session.scalar(select(count).where(InboxItem.text.is_not(None))),
            await uow.session.scalar(select(count).select_from(AuditEntry)),
        )


async def test_the_sweep_prunes_what_expired_in_chunks_and_nothing_else(make_uow):
    async with make_uow() as uow:
        old = chunk_size(uow.dialect) + 7
    await _fill(make_uow, old)
    async with make_uow() as uow:
        assert await retention.prune_as_of(uow, NOW) == old + 1 + old
        await uow.commit()
    assert await _left(make_uow) == (2, 1, 1, 1)  # the fresh and the unsent text, fresh entry
    async with make_uow() as uow:
        assert await retention.prune_as_of(uow, NOW) == 0


async def test_two_sweeps_at_once_prune_each_row_once(make_uow):
    async with make_uow() as uow:
        old = 2 * chunk_size(uow.dialect) + 3
    await _fill(make_uow, old)

    async def sweep() -> int:
        async with make_uow() as uow:
            pruned = await retention.prune_as_of(uow, NOW)
            await uow.commit()
            return pruned

    counts = await asyncio.wait_for(asyncio.gather(sweep(), sweep()), 120)
    assert sum(counts) == old + 1 + old
    assert await _left(make_uow) == (2, 1, 1, 1)


async def test_the_set_up_file_sets_how_long_sms_ids_are_kept(make_uow, monkeypatch):
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    spec = parse_clinic_text(
        text + "\n[retention]\nmessage_texts_days = 30\ninbound_ids_days = 60\n", "clinic.toml")
    async with make_uow() as uow:
        await load_clinic(uow, spec)
        await uow.commit()
    async with make_uow() as uow:
        clinic = await uow.session.get(Clinic, 1)
        assert clinic is not None
        assert (clinic.message_texts_days, clinic.inbound_ids_days, clinic.audit_years) == (
            30, 60, 7)
        for days in (59, 61):
            uow.session.add(InboundMessage(channel="sms", external_id=f"SM{days}",
                                           created_at=NOW - timedelta(days=days)))
        await uow.commit()
    monkeypatch.setattr(inbound, "WALL_CLOCK", FixedClock(NOW))
    async with make_uow() as uow:
        assert await inbound.forget_old(uow) == 1
        await uow.commit()
        kept = {row.what: row for row in await retention.kept(uow)}
    sms = kept["ids of SMS received"]
    assert (sms.kept_for, sms.held) == ("60 days", 1)
    assert sms.until == NOW - timedelta(days=59) + timedelta(days=60)
    assert kept["texts of messages sent"].kept_for == "30 days"
