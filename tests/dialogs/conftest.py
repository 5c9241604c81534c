"""Dialog fixtures: an engine on the test database (the example clinic loaded) and chats."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FixedClock
from bot.dialogs.engine import Engine, EngineConfig
from bot.dialogs.registry import build_dialogs
from tests.dialogs.chat import Chat

MAYA = "+14165550101"
SOFIA = "+14165550102"
STRANGER = "+14165550199"


@pytest.fixture
def bot_engine(clinic: None, engine: AsyncEngine, clock: FixedClock) -> Engine:
    return Engine(engine, clock, build_dialogs(), EngineConfig())


@pytest.fixture
def make_chat(bot_engine: Engine) -> Callable[..., Chat]:
    def factory(phone: str = MAYA, channel: str = "sms", **extra: object) -> Chat:
        return Chat(bot_engine, channel=channel, address=phone, phone=phone, **extra)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def chat(make_chat: Callable[..., Chat]) -> Chat:
    """Maya (guardian of Leo, owner of a physio 5-pack) texting the clinic."""
    return make_chat(MAYA)
