"""The pieces every dialog uses: the context it runs in, answers, and what a step returns.

Extension point: a dialog subclasses :class:`Dialog` and defines, for each step ``s``,
``async def ask_s(ctx) -> Reply`` (the question and its options) and
``async def on_s(ctx, answer) -> Result`` (what the answer leads to). Steps keep what was chosen
so far in ``ctx.data`` (JSON-serialisable values only); the engine stores it with the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.dialogs.types import Option, Reply
from bot.i18n import Translator
from bot.storage.models import Clinic, Conversation, Patient
from bot.storage.uow import UnitOfWork

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


@dataclass
class Answer:
    """The patient's answer to a step: the option it designates (if any) and the raw text."""

    text: str
    option: Option | None = None

    @property
    def key(self) -> str | None:
        return self.option.key if self.option else None


@dataclass
class Goto:
    """Ask step ``step`` of ``dialog`` (default: the current dialog) next; ``say`` comes first."""

    step: str
    dialog: str | None = field(default=None, kw_only=True)
    say: list[str] = field(default_factory=list, kw_only=True)


@dataclass
class Retry:
    """The answer did not fit: explain, and ask the same question again."""

    message: str


@dataclass
class Finish:
    """The dialog is over: say ``say`` and show the main menu."""

    say: list[str] = field(default_factory=list)


Result = Goto | Retry | Finish


@dataclass(frozen=True)
class Effect:
    """Something for the channel to do besides replying (e.g. send a Telegram invoice).

    ``kind`` names it (``"telegram_invoice"``; ``"payment_link"``: send a link to pay what the
    invoice owes, see :mod:`bot.delivery.pay_link`), ``params`` holds ids only. Channels that
    cannot do it ignore it; dialogs only offer such steps where ``ctx.settings`` says the
    channel can.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class DialogContext:
    """What a step may use: the unit of work, the clinic, who is talking, their language."""

    uow: UnitOfWork
    clinic: Clinic
    conversation: Conversation
    account: Patient | None
    t: Translator
    channel: str
    settings: dict[str, Any] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        data = self.conversation.state.setdefault("data", {})
        assert isinstance(data, dict)
        return data

    @property
    def now(self) -> datetime:
        return self.uow.clock.now()

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic.timezone)

    @property
    def subject_id(self) -> int:
        """The patient the current request is for (the account itself, or a ward)."""
        chosen = self.conversation.state.get("for")
        if isinstance(chosen, int):
            return chosen
        assert self.account is not None
        return self.account.id

    def _(self, message: str, **values: object) -> str:
        return self.t.gettext(message, **values)

    def money(self, amount: Any) -> str:
        return self.t.money(amount, self.clinic.currency)

    def when(self, moment: datetime) -> str:
        return self.t.datetime_text(moment, self.zone)


class Dialog:
    """Extension point: a conversation made of named steps (see the module docstring)."""

    name: str = ""
    first_step: str = "start"
    needs_patient: bool = True

    async def ask(self, ctx: DialogContext, step: str) -> Reply:
        handler: Callable[[DialogContext], Awaitable[Reply]] = getattr(self, f"ask_{step}")
        return await handler(ctx)

    async def answer(self, ctx: DialogContext, step: str, answer: Answer) -> Result:
        handler: Callable[[DialogContext, Answer], Awaitable[Result]] = getattr(self, f"on_{step}")
        return await handler(ctx, answer)

    def help(self, ctx: DialogContext, step: str) -> str:
        """What HELP says at ``step``; dialogs override for step-specific help."""
        del step
        return ctx._(
            "Answer with the number of a choice or words from it. "
            "MENU: main menu. BACK: previous step."
        )
