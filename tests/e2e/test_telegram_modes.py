"""Telegram modes and limits: webhook secret (403, nothing touched), setWebhook on start,
polling without a webhook, a 429 from the Bot API retried, and an update whose handling failed
acted on when Telegram delivers it again (and only then)."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from bot.dialogs.engine import Engine
from bot.services import inbound
from bot.storage.models import Conversation, InboundMessage
from tests.e2e.telegram_harness import SECRET, TgUser, telegram_server


def fail_first_turn(monkeypatch) -> list[str]:
    """The engine fails (as if the database went away) on the first turn only."""
    turns: list[str] = []
    handle = Engine.handle

    async def flaky(self, inbound):
        turns.append(inbound.text)
        if len(turns) == 1:
            raise ConnectionError("the database went away")
        return await handle(self, inbound)

    monkeypatch.setattr(Engine, "handle", flaky)
    return turns


async def inbound_rows(make_uow) -> list[tuple[str, str | None]]:
    async with make_uow(readonly=True) as uow:
        rows = await uow.session.execute(select(InboundMessage.external_id, InboundMessage.reply))
        return list(rows.tuples().all())


async def hello_that_fails(tg) -> tuple[TgUser, dict]:
    """Maya's "hello" by webhook, answered 500 (so Telegram will deliver it again)."""
    maya = TgUser(tg, 7001, "Maya")
    update = maya.update(message=maya.message(text="hello"))
    failed = await tg.http.post("/telegram/webhook", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert failed.status_code == 500, "Telegram will deliver it again"
    return maya, update


async def test_a_webhook_update_that_failed_is_acted_on_when_delivered_again(
    clinic, database_url, clock, make_uow, monkeypatch
):
    turns = fail_first_turn(monkeypatch)
    async with telegram_server(database_url, clock, mode="webhook") as tg:
        maya, update = await hello_that_fails(tg)
        assert await inbound_rows(make_uow) == [], "the failed update's claim was given up"
        assert tg.standin.of("sendMessage") == []
        assert "share your phone" in await maya.send(update)  # Telegram's retry: 200
        again = await tg.http.post("/telegram/webhook", json=update,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert again.status_code == 200
        await tg.settle()
    assert turns == ["hello", "hello"], "acted on once after the failure, not a third time"
    assert len(tg.standin.of("sendMessage")) == 1
    assert await inbound_rows(make_uow) == [(str(update["update_id"]), "handled")]


async def test_an_update_whose_claim_failed_is_not_acted_on_until_delivered_again(
    clinic, database_url, clock, make_uow, monkeypatch
):
    """Claiming fails (the database went away): no handler acts on the unclaimed update (the
    library would go on to them after an error), the webhook answers 500, and Telegram's next
    delivery is acted on, once."""
    turns: list[str] = []
    handle = Engine.handle

    async def counted(self, inbound_):
        turns.append(inbound_.text)
        return await handle(self, inbound_)

    monkeypatch.setattr(Engine, "handle", counted)
    claims: list[str] = []
    claim = inbound.claim

    async def flaky_claim(uow, channel, external_id, **kwargs):
        claims.append(external_id)
        if len(claims) == 1:
            raise ConnectionError("the database went away")
        return await claim(uow, channel, external_id, **kwargs)

    monkeypatch.setattr(inbound, "claim", flaky_claim)
    async with telegram_server(database_url, clock, mode="webhook") as tg:
        maya, update = await hello_that_fails(tg)
        await tg.settle()
        assert turns == [], "no handler acted on the unclaimed update"
        assert tg.standin.of("sendMessage") == []
        assert await inbound_rows(make_uow) == []
        assert "share your phone" in await maya.send(update)  # Telegram's retry: 200
        await tg.settle()
    assert turns == ["hello"] and len(claims) == 2
    assert len(tg.standin.of("sendMessage")) == 1
    assert await inbound_rows(make_uow) == [(str(update["update_id"]), "handled")]


async def test_a_polled_update_that_failed_gives_up_its_claim(
    clinic, database_url, clock, make_uow, monkeypatch
):
    turns = fail_first_turn(monkeypatch)
    async with telegram_server(database_url, clock, mode="polling") as tg:
        maya = TgUser(tg, 7001, "Maya")
        first = maya.update(message=maya.message(text="hello"))
        tg.standin.push(first)
        assert "share your phone" in await maya.say("hello again")
    assert turns == ["hello", "hello again"]
    rows = dict(await inbound_rows(make_uow))
    assert str(first["update_id"]) not in rows and set(rows.values()) == {"handled"}


async def test_webhook_mode_registers_the_webhook_and_checks_the_secret(
    clinic, database_url, clock, make_uow
):
    async with telegram_server(database_url, clock, mode="webhook") as tg:
        [registered] = tg.standin.of("setWebhook")
        assert registered.params["secret_token"] == SECRET
        assert registered.params["url"].endswith("/telegram/webhook")
        assert tg.standin.of("getUpdates") == []
        maya = TgUser(tg, 7001, "Maya")
        update = maya.update(message=maya.message(text="hello"))
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
            response = await tg.http.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 403
        await tg.settle()
        assert [c for c in tg.standin.calls if c.method == "sendMessage"] == []
        async with make_uow() as uow:
            assert await uow.session.scalar(select(func.count()).select_from(Conversation)) == 0
            assert await uow.session.scalar(
                select(func.count()).select_from(InboundMessage)) == 0
        assert "share your phone" in await maya.send(update)


async def test_polling_mode_polls_and_sets_no_webhook(clinic, database_url, clock):
    async with telegram_server(database_url, clock, mode="polling") as tg:
        maya = TgUser(tg, 7001, "Maya")
        assert "share your phone" in await maya.say("/start")
        assert tg.standin.of("setWebhook") == []
        response = await tg.http.post("/telegram/webhook", json={"update_id": 1},
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert response.status_code == 404


async def test_a_429_from_the_bot_api_is_retried(clinic, database_url, clock):
    async with telegram_server(database_url, clock, mode="polling") as tg:
        maya = TgUser(tg, 7001, "Maya")
        tg.standin.throttle_next(retry_after=1)
        reply = await maya.say("/start")
        await tg.wait_for(lambda c: c.method == "sendMessage", after=tg.standin.calls.index(
            maya.last[0]) + 1)
        sends = tg.standin.of("sendMessage")
        assert len(sends) == 2 and sends[0].text == sends[1].text
        assert "_message_id" not in sends[0].params  # the first was answered 429
        assert sends[1].at - sends[0].at >= 0.9
        assert "share your phone" in reply


async def test_an_answer_the_bot_api_failed_to_take_is_sent_again(clinic, database_url, clock):
    async with telegram_server(database_url, clock, mode="webhook") as tg:
        maya = TgUser(tg, 7001, "Maya")
        tg.standin.fail_next(502, times=2)
        reply = await maya.say("/start")
        await tg.wait_for(lambda c: c.method == "sendMessage" and "_message_id" in c.params)
        await tg.settle()
        sends = tg.standin.of("sendMessage")
        assert len(sends) == 3 and len({c.text for c in sends}) == 1
        assert [("_message_id" in c.params) for c in sends] == [False, False, True]
        assert "share your phone" in reply


async def test_a_message_older_than_telegram_redelivers_is_a_replay_not_acted_on(
    clinic, database_url, clock, make_uow
):
    """Telegram drops what it could not deliver after 24 hours and the ids acted on are kept a
    week: a week-old message arriving (its id forgotten, or reused) is recorded, answered 200
    and never acted on; a message of today from the same patient still is."""
    async with telegram_server(database_url, clock, mode="webhook") as tg:
        maya = TgUser(tg, 7001, "Maya")
        old = maya.update(message={**maya.message(text="hello"),
                                   "date": int(time.time()) - 8 * 24 * 3600})
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = await tg.http.post("/telegram/webhook", json=old, headers=headers)
        assert response.status_code == 200, "answered, so Telegram does not deliver it again"
        await tg.settle()
        assert tg.standin.of("sendMessage") == []
        async with make_uow(readonly=True) as uow:
            assert await uow.session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert await inbound_rows(make_uow) == [(str(old["update_id"]), "handled")]
        assert "share your phone" in await maya.say("hello")
