"""Acting on an inbound message once (bot.services.inbound), on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from bot.clock import FixedClock
from bot.scheduler.jobs import run_sweeps
from bot.services import inbound
from bot.storage.models import InboundMessage

SID = "SM" + "a" * 32


async def _claim(make_uow, sid: str = SID, *, channel: str = "sms",
                 lease: timedelta = inbound.CLAIM_TIMEOUT) -> inbound.Claim:
    async with make_uow() as uow:
        claim = await inbound.claim(uow, channel, sid, lease=lease)
        await uow.commit()
        return claim


async def _settle(make_uow, token: str | None, reply: str = "<Response/>", sid: str = SID,
                  channel: str = "sms") -> None:
    assert token is not None
    async with make_uow() as uow:
        await inbound.settle(uow, channel, sid, token, reply)
        await uow.commit()


async def test_the_first_delivery_claims_and_a_repeat_gets_the_reply(make_uow):
    first = await _claim(make_uow)
    assert first.owned and first.token
    assert await _claim(make_uow) == inbound.Claim(owned=False), "still in hand"
    await _settle(make_uow, first.token)
    assert await _claim(make_uow) == inbound.Claim(
        owned=False, reply="<Response/>", answered=True)
    async with make_uow() as uow:
        assert await inbound.earlier_reply(uow, "sms", SID) == "<Response/>"
        assert await inbound.answered(uow, "sms", SID)
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


async def test_a_committed_claim_holds_its_lease_and_a_lapsed_owner_cannot_act(
    make_uow, clock
):
    lease = timedelta(seconds=6)
    first = await _claim(make_uow, lease=lease)
    assert first.owned and first.token
    clock.advance(timedelta(seconds=5))
    assert not (await _claim(make_uow, lease=lease)).owned, "still in hand"
    clock.advance(timedelta(seconds=2))  # its owner died, or is stuck
    second = await _claim(make_uow, lease=lease)
    assert second.owned and second.token != first.token
    async with make_uow() as uow:
        with pytest.raises(inbound.ClaimLost):
            await inbound.settle(uow, "sms", SID, first.token, "<Response>late</Response>")
    await _settle(make_uow, second.token, "<Response>taken over</Response>")
    assert (await _claim(make_uow)).reply == "<Response>taken over</Response>"


async def test_claim_act_and_answer_in_one_transaction_leave_nothing_when_it_dies(make_uow):
    async with make_uow() as uow:  # the claim of a transaction that never commits
        held = await inbound.claim(uow, "sms", SID, lease=timedelta(seconds=6))
        assert held.owned and held.token
        await inbound.settle(uow, "sms", SID, held.token, "<Response/>")
    assert await _left(make_uow) == {}, "its instance died: nothing is left behind"
    again = await _claim(make_uow)
    assert again.owned, "the retry acts"


async def test_a_claim_in_hand_in_an_open_transaction_is_not_waited_for(
    make_uow, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: a repeat waits for the holder's commit")
    async with make_uow() as holder:
        held = await inbound.claim(holder, "sms", SID, lease=timedelta(seconds=6))
        assert held.owned and held.token
        async with asyncio.timeout(5):  # tried, never queued behind the holder
            assert await _claim(make_uow) == inbound.Claim(owned=False)
        await inbound.settle(holder, "sms", SID, held.token, "<Response>once</Response>")
        await holder.commit()
    assert await _claim(make_uow) == inbound.Claim(
        owned=False, reply="<Response>once</Response>", answered=True)


async def test_a_holder_idle_past_its_lease_loses_the_message(make_uow, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite: a holder's process that is gone leaves its lock with it")
    async with make_uow() as holder:
        held = await inbound.claim(holder, "sms", SID, lease=timedelta(milliseconds=300))
        assert held.owned and held.token
        await asyncio.sleep(1.0)  # hung: the server ends its transaction
        assert (await _claim(make_uow)).owned, "the retry takes the message over"
        with pytest.raises(DBAPIError):
            await inbound.settle(holder, "sms", SID, held.token, "<Response>late</Response>")


async def test_a_settle_rolled_back_with_its_action_leaves_the_claim_in_hand(make_uow):
    first = await _claim(make_uow)
    assert first.token
    async with make_uow() as uow:
        await inbound.settle(uow, "sms", SID, first.token, "<Response/>")
        # no commit: the action failed, so the answer is not recorded either
    assert await _claim(make_uow) == inbound.Claim(owned=False)


async def test_a_released_claim_can_be_claimed_again_but_an_answered_one_cannot(make_uow):
    first = await _claim(make_uow)
    async with make_uow() as uow:
        await inbound.release(uow, "sms", SID, "not-the-owner")
        await uow.commit()
    assert not (await _claim(make_uow)).owned, "only its owner gives a claim up"
    async with make_uow() as uow:
        await inbound.release(uow, "sms", SID, first.token)
        await uow.commit()
    again = await _claim(make_uow)
    assert again.owned
    await _settle(make_uow, again.token)
    async with make_uow() as uow:
        await inbound.release(uow, "sms", SID)
        await uow.commit()
    assert (await _claim(make_uow)).reply == "<Response/>"


async def _answered(make_uow, channel: str, sid: str) -> None:
    claim = await _claim(make_uow, sid, channel=channel)
    await _settle(make_uow, claim.token, "<Response><Message>Your visit</Message></Response>",
                  sid, channel)


async def _left(make_uow) -> dict[str, str | None]:
    async with make_uow() as uow:
        rows = await uow.session.execute(select(InboundMessage.external_id, InboundMessage.reply))
        return dict(rows.tuples().all())


async def test_answers_are_forgotten_in_days_sms_ids_in_400_days_by_age_alone(
    make_uow, engine, clock, clinic, monkeypatch
):
    wall = FixedClock(clock.now())
    monkeypatch.setattr(inbound, "WALL_CLOCK", wall)
    old, recent, unanswered, telegram = ("SM" + n * 32 for n in "1234")
    await _answered(make_uow, "sms", old)
    await _claim(make_uow, unanswered)  # claimed, never answered: its handler died
    await _answered(make_uow, "telegram", telegram)
    clock.advance(timedelta(days=3))
    await _answered(make_uow, "sms", recent)
    # The sweep runs as of any moment (here the year 9999): only the wall clock counts.
    sweep = FixedClock(datetime(9999, 12, 31, tzinfo=UTC))
    assert (await run_sweeps(engine, sweep)).sweeps["old inbound messages forgotten"] == 0
    answer = "<Response><Message>Your visit</Message></Response>"
    assert await _left(make_uow) == {old: answer, unanswered: None, telegram: answer,
                                     recent: answer}

    wall.advance(inbound.KEEP_REPLY + timedelta(seconds=1))  # 2 days: old answers dropped
    async with make_uow() as uow:
        assert await inbound.forget_old(uow) == 2
        await uow.commit()
    assert await _left(make_uow) == {old: None, unanswered: None, telegram: None,
                                     recent: answer}
    assert (await _claim(make_uow, old)) == inbound.Claim(owned=False, answered=True)

    wall.advance(timedelta(days=8))  # Telegram reuses update ids after a week: forgotten
    async with make_uow() as uow:
        assert await inbound.forget_old(uow) == 2
        await uow.commit()
    assert await _left(make_uow) == {old: None, unanswered: None, recent: None}

    wall.set(clock.now() - timedelta(days=3) + timedelta(days=399))
    async with make_uow() as uow:
        assert await inbound.forget_old(uow) == 0
    assert not (await _claim(make_uow, old)).owned, "399 days on, a replay is recognised"
    wall.set(clock.now() - timedelta(days=3) + inbound.KEEP_IDS["sms"] + timedelta(seconds=1))
    async with make_uow() as uow:
        assert await inbound.forget_old(uow) == 2, "by age alone, answered or not"
        await uow.commit()
    assert await _left(make_uow) == {recent: None}
