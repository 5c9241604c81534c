"""Telegram modes and limits: webhook secret (403, nothing touched), setWebhook on start,
polling without a webhook, and a 429 from the Bot API retried."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.storage.models import Conversation, InboundMessage
from tests.e2e.telegram_harness import SECRET, TgUser, telegram_server


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
