"""A transcript driver for dialog tests: ``await chat.say("hi")``, ``await chat.choose("Book")``."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.dialogs.engine import Engine
from bot.dialogs.render import plain
from bot.dialogs.types import Inbound, Outcome, Reply


@dataclass
class Chat:
    """One patient's conversation on one channel, talking to a real engine and database."""

    engine: Engine
    channel: str = "sms"
    address: str = "+14165550101"
    phone: str | None = "+14165550101"
    telegram_user_id: int | None = None
    language_code: str | None = None
    transcript: list[str] = field(default_factory=list)
    last: Reply = field(default_factory=lambda: Reply(""))
    outcome: Outcome = field(default_factory=Outcome)

    async def send(self, text: str = "", choice: str | None = None, **extra: object) -> Reply:
        inbound = Inbound(
            channel=self.channel,
            address=self.address,
            text=text,
            choice=choice,
            phone=self.phone,
            telegram_user_id=self.telegram_user_id,
            language_code=self.language_code,
            **extra,  # type: ignore[arg-type]
        )
        self.transcript.append(f"> {text or choice}")
        self.outcome = await self.engine.handle(inbound)
        assert self.outcome.replies, "every message gets an answer"
        for reply in self.outcome.replies:
            self.transcript.append(plain(reply))
        self.last = self.outcome.replies[-1]
        return self.last

    async def say(self, text: str) -> Reply:
        return await self.send(text)

    async def choose(self, label: str) -> Reply:
        """Pick the option whose label contains ``label`` (by its number, as a patient types)."""
        for number, option in zip(self.last.numbers(), self.last.options, strict=True):
            if label.casefold() in option.label.casefold():
                return await self.send(str(number))
        raise AssertionError(f"no option {label!r} in: {self.labels}")

    async def press(self, label: str) -> Reply:
        """Press the option's button (Telegram style: its key is sent, not its number)."""
        for option in self.last.options:
            if label.casefold() in option.label.casefold():
                return await self.send(choice=option.key)
        raise AssertionError(f"no option {label!r} in: {self.labels}")

    @property
    def labels(self) -> list[str]:
        return [option.label for option in self.last.options]

    @property
    def text(self) -> str:
        return self.last.text
