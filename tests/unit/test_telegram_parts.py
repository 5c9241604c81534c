"""Pure parts of the Telegram channel: callback data limits, keyboards, money in minor units,
invoice payloads, command mapping, and how Bot API errors map onto delivery errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.delivery.errors import OptedOut, PermanentError, TransientError
from bot.dialogs.types import Option, Reply
from bot.handlers.telegram_channel import TelegramChannel
from bot.handlers.telegram_patients import MENU_COMMANDS, PATIENT_COMMANDS
from bot.handlers.telegram_payments import from_minor_units, invoice_id_of, minor_units
from bot.handlers.telegram_render import callback_data, keyboard, markup
from bot.handlers.telegram_staff import CHOICE_VALID, chosen_staff, staff_choice
from bot.i18n import translator


def test_callback_data_fits_telegrams_64_bytes():
    assert callback_data("x" * 64) == "x" * 64
    with pytest.raises(ValueError, match="64 bytes"):
        callback_data("x" * 65)
    with pytest.raises(ValueError):
        callback_data("é" * 33)  # 66 bytes in UTF-8
    with pytest.raises(ValueError):
        callback_data("")


def test_options_become_one_inline_button_per_line_keyed_by_option():
    board = keyboard([Option("book", "Book an appointment"), Option("buy", "Buy a package")])
    assert board is not None
    assert [[(b.text, b.callback_data) for b in row] for row in board.inline_keyboard] == [
        [("Book an appointment", "book")], [("Buy a package", "buy")]]
    assert keyboard([]) is None


def test_a_contact_request_gets_the_share_phone_button():
    found = markup(Reply("Share?", request_contact=True), translator("en"))
    assert found is not None and found.to_dict()["keyboard"][0][0]["request_contact"] is True


def test_money_in_minor_units_follows_the_currency():
    assert minor_units(Decimal("990.00"), "CAD") == 99000
    assert minor_units(Decimal("1500"), "JPY") == 1500
    assert from_minor_units(33000, "CAD") == Decimal("330")


def test_only_invoice_payloads_name_an_invoice():
    assert invoice_id_of("invoice:42") == 42
    assert invoice_id_of("invoice:") is None
    assert invoice_id_of("invoice:4x") is None
    assert invoice_id_of("order:42") is None


def test_every_interface_command_is_handled():
    assert set(PATIENT_COMMANDS) == {"start", "menu", "book", "packages", "appointments", "buy",
                                     "invoices", "language", "help", "stop"}
    assert MENU_COMMANDS["invoices"] == "memberships"


class FailingBot:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def send_message(self, *args: object, **kwargs: object) -> object:
        raise self.error


@pytest.mark.parametrize(("make", "expected"), [
    (lambda: RetryAfter(timedelta(seconds=7)), TransientError),
    (lambda: NetworkError("down"), TransientError),
    (lambda: Forbidden("bot was blocked by the user"), OptedOut),
    (lambda: BadRequest("chat not found"), PermanentError),
])
async def test_bot_api_errors_map_onto_delivery_errors(make, expected, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as TelegramBot opts in (PTB 23 behaviour)
    error = make()
    channel = TelegramChannel(FailingBot(error))  # type: ignore[arg-type]
    with pytest.raises(expected) as caught:
        await channel.send("123", "hello")
    if isinstance(error, RetryAfter):
        assert caught.value.retry_after == 7


async def test_a_chat_id_that_is_not_a_number_is_refused_for_good():
    with pytest.raises(PermanentError):
        await TelegramChannel(FailingBot(NetworkError("x"))).send("abc", "hi")  # type: ignore[arg-type]


class RecordingBot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, float]] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: object) -> object:
        import asyncio

        from telegram import Message

        self.sent.append((chat_id, asyncio.get_running_loop().time()))
        return Message.de_json({"message_id": len(self.sent), "date": 0,
                                "chat": {"id": chat_id, "type": "private"}}, None)


async def test_the_channel_sends_at_most_one_message_per_second_per_chat():
    bot = RecordingBot()
    channel = TelegramChannel(bot, per_chat_interval=0.3)  # type: ignore[arg-type]
    assert await channel.send("5", "one") == "5:1"
    await channel.send("6", "other chat: not held back")
    await channel.send("5", "two")
    (_, first), (_, other), (_, second) = bot.sent
    assert other - first < 0.2 and second - first >= 0.29


def test_a_staff_choice_is_bound_to_the_chat_the_code_and_a_day():
    given = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    data = staff_choice("desk-code", -100123, 7, given)
    assert data.startswith("staffreg:7:") and len(data.encode()) <= 64
    callback_data(data)  # fits a button
    assert chosen_staff("desk-code", -100123, data, given + timedelta(minutes=5)) == 7
    assert chosen_staff("desk-code", -100123, data, given + CHOICE_VALID) == 7
    assert chosen_staff("desk-code", -100123, data, given + CHOICE_VALID + timedelta(minutes=2)
                        ) is None, "expired"
    assert chosen_staff("desk-code", 555, data, given) is None, "another chat"
    assert chosen_staff("new-code", -100123, data, given) is None, "the code changed"
    forged = data.replace("staffreg:7:", "staffreg:8:")
    assert chosen_staff("desk-code", -100123, forged, given) is None, "another staff member"
    for broken in ("staffreg:7", "staffreg:x:1:abc", "staffreg:7:1:", "staffreg:7:1:a:b"):
        assert chosen_staff("desk-code", -100123, broken, given) is None
