"""What the Telegram handlers share: the engine, the database, the settings (set at build)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.dialogs.engine import Engine
from bot.settings import Settings
from bot.storage.uow import UnitOfWork

CHANNEL = "telegram"
DEPS_KEY = "clinicbot"


@dataclass
class TelegramDeps:
    """The parts handlers use; ``code_chats`` are chats that gave the staff code (this run)."""

    settings: Settings
    db: AsyncEngine
    clock: Clock
    engine: Engine
    code_chats: set[int] = field(default_factory=set)

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, self.clock, readonly=readonly)

    @property
    def payments(self) -> bool:
        return self.settings.telegram_payment_provider_token is not None


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
App = Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]


def deps(context: Context) -> TelegramDeps:
    """The shared parts, from a handler's context."""
    found = context.application.bot_data[DEPS_KEY]
    assert isinstance(found, TelegramDeps)
    return found
