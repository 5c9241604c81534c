"""Wiring: the one place that builds the bot's parts from the settings.

Nothing here runs at import; commands call these builders with the settings they loaded.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.dialogs.engine import Engine, EngineConfig
from bot.dialogs.registry import build_dialogs
from bot.observability.hooks import TurnObserver
from bot.settings import Settings


def build_engine(
    settings: Settings, db: AsyncEngine, clock: Clock, observer: TurnObserver | None = None
) -> Engine:
    """The dialog engine with every dialog, configured for this deployment.

    ``observer`` is told about every turn (``clinicbot serve`` passes its metrics).
    """
    config = EngineConfig(
        telegram_payments=settings.telegram_payment_provider_token is not None
        and settings.telegram_bot_token is not None,
        payment_links=settings.stripe_enabled,
    )
    return Engine(db, clock, build_dialogs(), config, observer)
