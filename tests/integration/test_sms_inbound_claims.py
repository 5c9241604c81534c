"""Acting on an inbound message once (bot.services.inbound), on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.scheduler.jobs import run_sweeps
from bot.services import inbound
from bot.storage.models import InboundMessage

SID = "SM" + "a" * 32


async def _claim(make_uow, sid: str = SID) -> inbound.Claim:
    async with make_uow() as uow:
        claim = await inbound.claim(uow, "sms", sid)
        await uow.commit()
        return claim


async def test_the_first_delivery_claims_and_a_repeat_gets_the_reply(make_uow):
    assert await _claim(make_uow) == inbound.Claim(owned=True)
    assert await _claim(make_uow) == inbound.Claim(owned=False, reply=None), "still in hand"
    async with make_uow() as uow:
        await inbound.remember_reply(uow, "sms", SID, "<Response/>")
        await uow.commit()
    assert await _claim(make_uow) == inbound.Claim(owned=False, reply="<Response/>")
    async with make_uow() as uow:
        assert await inbound.earlier_reply(uow, "sms", SID) == "<Response/>"
    assert (await _claim(make_uow, "SM" + "b" * 32)).owned, "another message is its own"


async def test_the_same_id_on_another_channel_is_another_message(make_uow):
    assert await _claim(make_uow)
    async with make_uow() as uow:
        assert (await inbound.claim(uow, "telegram", SID)).owned


async def test_concurrent_claims_give_exactly_one_owner(make_uow):
    claims = await asyncio.gather(*(_claim(make_uow) for _ in range(8)))
    assert sum(claim.owned for claim in claims) == 1


async def test_an_abandoned_claim_is_taken_over_after_the_timeout(make_uow, clock):
    assert (await _claim(make_uow)).owned
    clock.advance(inbound.CLAIM_TIMEOUT - timedelta(seconds=1))
    assert not (await _claim(make_uow)).owned
    clock.advance(timedelta(seconds=2))
    assert (await _claim(make_uow)).owned, "the handler died: take it over"
    assert not (await _claim(make_uow)).owned, "and only once"


async def test_a_released_claim_can_be_claimed_again_but_an_answered_one_cannot(make_uow):
    assert (await _claim(make_uow)).owned
    async with make_uow() as uow:
        await inbound.release(uow, "sms", SID)
        await uow.commit()
    assert (await _claim(make_uow)).owned
    async with make_uow() as uow:
        await inbound.remember_reply(uow, "sms", SID, "<Response/>")
        await inbound.release(uow, "sms", SID)
        await uow.commit()
    assert (await _claim(make_uow)).reply == "<Response/>"


async def test_old_answered_messages_are_forgotten(make_uow, clock):
    await _claim(make_uow, "SM" + "1" * 32)
    async with make_uow() as uow:
        await inbound.remember_reply(uow, "sms", "SM" + "1" * 32, "<Response/>")
        await uow.commit()
    await _claim(make_uow, "SM" + "2" * 32)  # claimed, never answered
    clock.advance(timedelta(days=8))
    await _claim(make_uow, "SM" + "3" * 32)
    async with make_uow() as uow:
        assert await inbound.forget_before(uow, clock.now() - timedelta(days=7)) == 1
        await uow.commit()
    async with make_uow() as uow:
        left = (await uow.session.scalars(select(InboundMessage.external_id))).all()
        assert sorted(left) == ["SM" + "2" * 32, "SM" + "3" * 32]


async def test_the_scheduler_forgets_answered_messages_after_a_week(
    make_uow, engine, clock, clinic
):
    for n in "45":
        await _claim(make_uow, "SM" + n * 32)
        async with make_uow() as uow:
            await inbound.remember_reply(uow, "sms", "SM" + n * 32, "<Response/>")
            await uow.commit()
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(days=6))  # the first answered 7 days ago, the second 6
    report = await run_sweeps(engine, clock)
    assert report.sweeps["old inbound messages forgotten"] == 1
    async with make_uow() as uow:
        left = (await uow.session.scalars(select(InboundMessage.external_id))).all()
        assert left == ["SM" + "5" * 32]
