"""The dialog engine: one inbound message in, replies out, state saved with the action.

Each turn runs in one unit of work: the conversation row is locked, the patient identified by
what the channel proves, keywords handled (STOP, START, MENU, BACK, HELP), the answer matched
against the options last shown and handed to the current step, and the new step, what was
chosen so far and the options shown are stored in the same transaction as whatever the step
did. A rule's refusal asks again and keeps nothing the step wrote: a step that wrote nothing
before it was refused (nearly all: most steps only read) needs no savepoint; one that did is run
again from the start of the turn, in a fresh transaction, inside a savepoint that is rolled
back. An unexpected error rolls the whole turn back, keeps the patient's place and apologises
(the outcome says ``failed``). A channel that acts on each message once claims the message first
in the turn's transaction and records its answer last (:data:`Claim`, :data:`Settle`), so the
three commit together.
A message shaped like an invitation code (:mod:`bot.dialogs.invited`) is taken as one from any
sender at any step; a code waiting for its sender to register or link is accepted when they do.
Nothing here knows a channel library.
Each turn's outcome and duration go to the engine's observer (:mod:`bot.observability.hooks`;
none by default). Turns beyond the database pool's size wait their turn first come, first served
(the pool itself lets a task that just gave a connection back take it again at once, so under
load some conversations waited many seconds while others raced ahead).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from bot.clock import Clock
from bot.dialogs import invited, keywords, quiet, understood
from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.errors import explain
from bot.dialogs.identity import identify
from bot.dialogs.matching import clean, fold, match_option
from bot.dialogs.paging import MORE_KEY, page_options
from bot.dialogs.types import Inbound, Option, Outcome, Reply
from bot.i18n import negotiate, phone_text, translator
from bot.observability.hooks import ANSWERED, FAILED, OPTED_OUT, UNOBSERVED, TurnObserver
from bot.services import accounts, invitation_codes
from bot.services.clinic import get_clinic
from bot.services.clinic_setup import VERSION_COLUMN, version_seen
from bot.services.errors import DomainError
from bot.storage.attach import Columns, persistent, written
from bot.storage.hot import Hot
from bot.storage.models import Conversation, Patient
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

log = logging.getLogger(__name__)
HISTORY_LIMIT = 20
MENU = "menu"
# Built once: building and keying a statement costs more than SQLite takes to run it. The
# linked patient comes in the same row (identify() then finds it in the session), and so does
# the set-up version (the set-up copy's check: clinic_setup.version_seen); only the
# conversation is locked: two turns of one conversation run one after the other. Read as plain
# columns and made the session's objects without the ORM's loading (bot.storage.attach).
_CONVERSATION_COLUMNS = Columns(Conversation)
_PATIENT_COLUMNS = Columns(Patient)
_CONVERSATION_TABLE = cast(Table, Conversation.__table__)
CONVERSATION = Hot(
    select(*_CONVERSATION_COLUMNS.columns, *_PATIENT_COLUMNS.columns, VERSION_COLUMN)
    .select_from(_CONVERSATION_TABLE.outerjoin(
        cast(Table, Patient.__table__), Patient.id == Conversation.patient_id))
    .where(Conversation.channel == bindparam("channel"),
           Conversation.address == bindparam("address"))
    .with_for_update(of=_CONVERSATION_TABLE)
)
SAVED = ("patient_id", "dialog", "step", "state", "updated_at")  # where a conversation stands
SAVE_CONVERSATION = Hot(update(_CONVERSATION_TABLE).where(
    _CONVERSATION_TABLE.c.id == bindparam("conversation")).values(
    {name: bindparam(name) for name in SAVED}))


# Extension points of a channel that acts on each message once (bot.services.inbound). Claim
# runs first in the turn's transaction, before anything is read (the SMS handler claims the
# message there); Settle runs in it just before it commits (records the message as acted on,
# with its answer). What either raises rolls the turn back and reaches the caller unchanged (no
# apology).
Claim = Callable[[UnitOfWork], Awaitable[None]]
Settle = Callable[[UnitOfWork, Outcome], Awaitable[None]]


class _Passed(Exception):
    """Carries what a :data:`Claim` or :data:`Settle` raised past the turn's error handling."""


@dataclass(frozen=True)
class EngineConfig:
    """Per-deployment facts dialogs may need (e.g. whether Telegram payments are on)."""

    telegram_payments: bool = False
    payment_links: bool = False


class Engine:
    """Runs dialogs for any channel; build one per process and share it."""

    def __init__(
        self,
        db: AsyncEngine,
        clock: Clock,
        dialogs: dict[str, Dialog],
        config: EngineConfig | None = None,
        observer: TurnObserver | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.dialogs = dialogs
        self.config = config or EngineConfig()
        self.observer = observer or UNOBSERVED
        self._turns = asyncio.Semaphore(_pool_size(db))

    async def handle(
        self, inbound: Inbound, settle: Settle | None = None, claim: Claim | None = None
    ) -> Outcome:
        """Process one inbound message and return the replies to send (``settle``, ``claim``:
        see :data:`Settle`). The outcome of a turn that failed is an apology (``failed``): the
        turn, ``claim`` and ``settle`` included, was rolled back."""
        started = time.perf_counter()
        try:
            async with self._turns:
                try:
                    outcome = await self._handle(inbound, settle, claim, guarded=False)
                except _WroteThenRefused:  # nothing of that attempt was kept
                    outcome = await self._handle(inbound, settle, claim, guarded=True)
        except _Passed as failed:
            assert failed.__cause__ is not None
            raise failed.__cause__ from None
        except Exception:
            log.exception("dialog turn failed on %s", inbound.channel)
            self.observer.dialog_turn(inbound.channel, FAILED, time.perf_counter() - started)
            return await self._apology(inbound)
        self.observer.dialog_turn(inbound.channel, OPTED_OUT if outcome.opted_out else ANSWERED,
                                  time.perf_counter() - started)
        return outcome

    async def _handle(self, inbound: Inbound, settle: Settle | None, claim: Claim | None, *,
                      guarded: bool) -> Outcome:
        async with UnitOfWork(self.db, self.clock, keep_loaded=True) as uow:
            if claim is not None:
                try:
                    await claim(uow)
                except Exception as exc:
                    raise _Passed() from exc
            conversation = await self._conversation(uow, inbound)
            clinic = await get_clinic(uow)
            account = await identify(uow, conversation, inbound)
            ctx = DialogContext(
                uow=uow,
                clinic=clinic,
                conversation=conversation,
                account=account,
                t=translator(self._locale(conversation, account, inbound, clinic.locale)),
                channel=inbound.channel,
                settings={"telegram_payments": self.config.telegram_payments,
                          "payment_links": self.config.payment_links},
            )
            outcome = await self._turn(ctx, inbound, guarded)
            _say_first(outcome, await invited.apply_pending(ctx))
            outcome.effects.extend(ctx.effects)
            await _save(uow, conversation)
            if settle is not None:
                try:
                    await settle(uow, outcome)
                except Exception as exc:
                    raise _Passed() from exc
            await uow.commit()
            return outcome

    async def _conversation(self, uow: UnitOfWork, inbound: Inbound) -> Conversation:
        which = {"channel": inbound.channel, "address": inbound.address}
        # The patient, if any, is now in the session.
        conversation = await _read_conversation(uow, which)
        if conversation is None:
            values = {
                "channel": inbound.channel,
                "address": inbound.address,
                "state": {},
                "updated_at": uow.clock.now(),
            }
            await insert_ignore(uow, Conversation, values, ["channel", "address"])
            conversation = await _read_conversation(uow, which)
            assert conversation is not None
        if conversation.state is None:
            conversation.state = {}
        return conversation

    @staticmethod
    def _locale(
        conversation: Conversation, account: Patient | None, inbound: Inbound, clinic_locale: str
    ) -> str:
        chosen = account.locale if account else conversation.state.get("locale")
        return negotiate(
            [chosen if isinstance(chosen, str) else None, inbound.language_code], clinic_locale
        )

    # -- one turn ---------------------------------------------------------------------------

    async def _turn(self, ctx: DialogContext, inbound: Inbound, guarded: bool) -> Outcome:
        text = clean(inbound.text)
        word = fold(text) if inbound.choice is None else ""
        state = ctx.conversation.state
        if inbound.opt_out or word in keywords.STOP:
            return await self._opt_out(ctx)
        opted_out = bool(ctx.account.opted_out if ctx.account else state.get("opted_out"))
        if word in keywords.START or (opted_out and word in keywords.OPT_IN_WHEN_STOPPED):
            await self._opt_in(ctx)
            welcome = ctx._("You will get our messages again.")
            return Outcome(await self._enter(ctx, self._home(ctx), [welcome]))
        if inbound.choice is None and (code := invitation_codes.read_code(text)) is not None:
            quiet.forget(ctx.conversation)  # an invitation code starts afresh from home
            return Outcome(await self._enter(ctx, self._home(ctx),
                                             [await invited.take_code(ctx, code)]))
        if quiet.went_quiet(ctx.conversation, ctx.now) and not quiet.answers_reminder(
                ctx.conversation, inbound):
            started_over = await self._start_over(ctx, inbound, text, word)
            if started_over is not None:
                return Outcome(started_over)
        if word in keywords.HELP:
            return Outcome(await self._help(ctx))
        if ctx.account is None and ctx.conversation.dialog not in self._identity_dialogs():
            return Outcome(await self._enter(ctx, self._home(ctx), []))
        fresh = ctx.conversation.dialog is None
        if fresh and (jumped := await self._understood(ctx, inbound, text)):
            return Outcome(jumped)
        if word in keywords.MENU or ctx.conversation.dialog is None:
            return Outcome(await self._enter(ctx, self._home(ctx), []))
        if word in keywords.BACK:
            return Outcome(await self._back(ctx))
        return Outcome(await self._answer(ctx, inbound, text, guarded))

    async def _help(self, ctx: DialogContext) -> list[Reply]:
        """HELP at any point: how to answer this step, who we are (the clinic's phone in its
        national format), and how to stop (STOP named once)."""
        about = (
            ctx._("{clinic}, phone {phone}. Send STOP to get no more messages.",
                  clinic=ctx.clinic.name, phone=phone_text(ctx.clinic.phone))
            if ctx.clinic.phone
            else ctx._("{clinic}. Send STOP to get no more messages.", clinic=ctx.clinic.name)
        )
        current = ctx.conversation.dialog
        if current is None or (ctx.account is None and current not in self._identity_dialogs()):
            return await self._enter(ctx, self._home(ctx), [about])
        dialog = self.dialogs[current]
        helptext = dialog.help(ctx, ctx.conversation.step or dialog.first_step)
        return await self._ask(ctx, [helptext, about])

    async def _start_over(
        self, ctx: DialogContext, inbound: Inbound, text: str, word: str
    ) -> list[Reply] | None:
        """After the quiet period (:mod:`bot.dialogs.quiet`): forget the half-finished step and
        greet with the menu; None when the turn goes on from there (HELP, MENU, BACK, a menu
        choice, a request typed in one message, or a message at the menu itself)."""
        conversation = ctx.conversation
        home = self._home(ctx)
        quiet.forget(conversation)
        if (conversation.dialog, conversation.step or home[1]) == home:
            return None
        replies = await self._enter(ctx, home, [])
        state = conversation.state
        menu = [Option(*pair) for pair in state.get("options", [])]
        if word in keywords.HELP | keywords.MENU | keywords.BACK or (
                ctx.account is not None and quiet.names_menu_choice(inbound, text, menu)):
            return None
        if ctx.account is not None and inbound.choice is None and (
                await understood.read(ctx, text)) is not None:
            return None  # a request typed in one message: read from the menu
        note = ctx._("It has been a while, so let's start again.")
        first = replies[0]
        return [Reply(f"{note}\n\n{first.text}", first.options, first.request_contact),
                *replies[1:]]

    def _identity_dialogs(self) -> set[str]:
        return {name for name, dialog in self.dialogs.items() if not dialog.needs_patient}

    def _home(self, ctx: DialogContext) -> tuple[str, str]:
        if ctx.account is not None:
            return MENU, self.dialogs[MENU].first_step
        name = "link" if ctx.channel == "telegram" and "link" in self.dialogs else "register"
        return name, self.dialogs[name].first_step

    async def _answer(
        self, ctx: DialogContext, inbound: Inbound, text: str, guarded: bool
    ) -> list[Reply]:
        state = ctx.conversation.state
        shown = [Option(*pair) for pair in state.get("shown", [])]
        everything = [Option(*pair) for pair in state.get("options", [])]
        if inbound.choice is not None:
            option = next((o for o in shown if o.key == inbound.choice), None)
            if option is None:
                note = ctx._("That button belongs to an earlier message. Here is where we are:")
                return await self._ask(ctx, [note])
        elif text.strip().rstrip(").").isdecimal():  # numbers go on across pages; More is 0
            option = _by_number(text, shown, everything)
        else:
            option = match_option(text, shown) or match_option(text, everything)
        if option is not None and option.key == MORE_KEY:
            state["page"] = int(state.get("page", 0)) + 1
            return await self._ask(ctx, [])
        if option is None and shown and text.strip().isdecimal():
            note = ctx._("{number} is not one of the choices.", number=text.strip())
            return await self._ask(ctx, [note])
        if option is None and (jumped := await self._understood(ctx, inbound, text)):
            return jumped
        assert ctx.conversation.dialog is not None
        dialog = self.dialogs[ctx.conversation.dialog]
        step = ctx.conversation.step or dialog.first_step
        answered = Answer(text=text, option=option)
        if guarded:
            result = await self._run_step_in_savepoint(ctx, dialog, step, answered)
        else:
            result = await self._run_step(ctx, dialog, step, answered)
        return await self._apply(ctx, result)

    async def _understood(self, ctx: DialogContext, inbound: Inbound, text: str) -> list[Reply]:
        """A request typed in one message, where one may jump (:mod:`bot.dialogs.understood`):
        from the menu, its dialog pre-filled. Nothing (an empty list) when it is none."""
        where = ctx.conversation
        if inbound.choice is not None or not understood.may_jump(where.dialog, where.step):
            return []
        found = await understood.read(ctx, text)
        if found is None:
            return []
        quiet.forget(where)  # nothing half-chosen goes with the jump
        where.dialog, where.step = self._home(ctx)
        return await self._apply(ctx, await understood.act(ctx, found, self.dialogs))

    async def _run_step(
        self, ctx: DialogContext, dialog: Dialog, step: str, answer: Answer
    ) -> Result:
        """The step's result; its refusal as a Retry, unless the step wrote before it (then
        :class:`_WroteThenRefused`: the turn is run again, guarded by a savepoint)."""
        session = ctx.uow.session
        await ctx.uow.flush_pending()  # what the turn did before the step is not the step's
        writes = ctx.uow.writes
        try:
            return await dialog.answer(ctx, step, answer)
        except DomainError as exc:
            if ctx.uow.writes != writes or _pending_besides(ctx.conversation, session):
                raise _WroteThenRefused from exc
            return Retry(explain(ctx, exc))

    async def _run_step_in_savepoint(
        self, ctx: DialogContext, dialog: Dialog, step: str, answer: Answer
    ) -> Result:
        savepoint = await ctx.uow.session.begin_nested()
        try:
            result = await dialog.answer(ctx, step, answer)
        except DomainError as exc:
            await savepoint.rollback()
            return Retry(explain(ctx, exc))
        await savepoint.commit()
        return result

    async def _apply(self, ctx: DialogContext, result: Result) -> list[Reply]:
        if isinstance(result, Retry):
            return await self._ask(ctx, [result.message])
        if isinstance(result, Finish):
            ctx.conversation.state.pop("for", None)
            accepted = await invited.apply_pending(ctx)  # registered or linked just now
            say = [*result.say, accepted] if accepted else result.say
            return await self._enter(ctx, self._home(ctx), say)
        current = ctx.conversation.dialog
        target = result.dialog or current
        assert target is not None
        self._push_history(ctx)
        return await self._go(ctx, target, result.step, result.say)

    # -- moving between steps ---------------------------------------------------------------

    async def _enter(
        self, ctx: DialogContext, where: tuple[str, str], say: list[str]
    ) -> list[Reply]:
        state = ctx.conversation.state
        for key in ("history", "data", "for"):
            state.pop(key, None)
        return await self._go(ctx, where[0], where[1], say)

    async def _go(self, ctx: DialogContext, dialog: str, step: str, say: list[str]) -> list[Reply]:
        ctx.conversation.dialog = dialog
        ctx.conversation.step = step
        ctx.conversation.state["page"] = 0
        return await self._ask(ctx, say)

    def _push_history(self, ctx: DialogContext) -> None:
        state = ctx.conversation.state
        history: list[dict[str, Any]] = state.setdefault("history", [])
        history.append(
            {
                "dialog": ctx.conversation.dialog,
                "step": ctx.conversation.step,
                "data": copy.deepcopy(state.get("data", {})),
                "for": state.get("for"),
            }
        )
        del history[:-HISTORY_LIMIT]

    async def _back(self, ctx: DialogContext) -> list[Reply]:
        state = ctx.conversation.state
        history: list[dict[str, Any]] = state.get("history", [])
        if not history:
            return await self._enter(ctx, self._home(ctx), [])
        previous = history.pop()
        state["data"] = previous["data"]
        if previous.get("for") is None:
            state.pop("for", None)
        else:
            state["for"] = previous["for"]
        return await self._go(ctx, previous["dialog"], previous["step"], [])

    async def _ask(self, ctx: DialogContext, say: list[str]) -> list[Reply]:
        assert ctx.conversation.dialog is not None
        dialog = self.dialogs[ctx.conversation.dialog]
        step = ctx.conversation.step or dialog.first_step
        session = ctx.uow.session
        if _pending_besides(ctx.conversation, session):
            question = await dialog.ask(ctx, step)
        else:  # only where the conversation stands is pending: written once, at the end
            with session.no_autoflush:
                question = await dialog.ask(ctx, step)
        state = ctx.conversation.state
        page, shown, first, everything = page_options(ctx, question, int(state.get("page", 0)))
        state["page"] = page
        state["shown"] = [[o.key, o.label] for o in shown]
        state["options"] = [[o.key, o.label] for o in everything]
        text = "\n\n".join([*say, question.text]) if say else question.text
        return [Reply(text=text, options=tuple(shown), request_contact=question.request_contact,
                      first_number=first)]

    # -- opting out and in ------------------------------------------------------------------

    async def _opt_out(self, ctx: DialogContext) -> Outcome:
        if ctx.account is not None:
            await accounts.opt_out(ctx.uow, ctx.account.id)
        ctx.conversation.state["opted_out"] = True
        text = ctx._(
            "You will get no more messages from {clinic}: no appointment reminders and no "
            "invoices. Send START to get them again.",
            clinic=ctx.clinic.name,
        )
        where = (ctx.conversation.dialog, ctx.conversation.step)
        if where[0] is not None and where != self._home(ctx):  # e.g. QUIT while booking
            unchanged = ctx._("Nothing was booked or called off.")
            text = f"{unchanged} {text}"
        return Outcome(replies=[Reply(text=text)], opted_out=True)

    async def _opt_in(self, ctx: DialogContext) -> None:
        if ctx.account is not None:
            await accounts.opt_in(ctx.uow, ctx.account.id)
        ctx.conversation.state.pop("opted_out", None)

    async def _apology(self, inbound: Inbound) -> Outcome:
        locale = "en"
        async with UnitOfWork(self.db, self.clock, readonly=True) as uow:
            with contextlib.suppress(DomainError):
                locale = negotiate([inbound.language_code], (await get_clinic(uow)).locale)
        text = translator(locale).gettext(
            "Sorry, something went wrong on our side. Your choices so far are kept; "
            "please try again, or send MENU."
        )
        return Outcome(replies=[Reply(text=text)], failed=True)


async def _read_conversation(uow: UnitOfWork, which: dict[str, str]) -> Conversation | None:
    """The conversation, locked, with its patient; the set-up version is noted on the way."""
    rows = await CONVERSATION.records(uow, which)
    if not rows:
        return None
    row = rows[0]
    version_seen(uow, row[-1])
    split = len(_CONVERSATION_COLUMNS)
    if row[split] is not None:  # the linked patient's id
        persistent(uow, _PATIENT_COLUMNS, row[split:-1])
    conversation: Conversation = persistent(uow, _CONVERSATION_COLUMNS, row[:split])
    return conversation


async def _save(uow: UnitOfWork, conversation: Conversation) -> None:
    """Write where the conversation stands: one prebuilt UPDATE when nothing else is pending (the
    ORM's flush of one row costs several times the statement), else with the turn's flush."""
    session = uow.session
    conversation.updated_at = uow.clock.now()
    if _pending_besides(conversation, session):
        flag_modified(conversation, "state")
        return
    await SAVE_CONVERSATION.count(uow, {"conversation": conversation.id, **{
        name: getattr(conversation, name) for name in SAVED}})
    written(conversation, SAVED)  # nothing of it is left for the commit's flush


def _say_first(outcome: Outcome, note: str | None) -> None:
    """Put ``note`` before the first reply's text (an invitation accepted this turn)."""
    if note is None:
        return
    if not outcome.replies:
        outcome.replies.append(Reply(text=note))
        return
    first = outcome.replies[0]
    outcome.replies[0] = Reply(f"{note}\n\n{first.text}", first.options,
                               first.request_contact, first.first_number)


def _by_number(text: str, shown: list[Option], everything: list[Option]) -> Option | None:
    """The option a typed number means in this step: its place in the whole list (on every
    page), or More for 0 when a More is shown."""
    if int(text.strip().rstrip(").")) == 0:
        return next((o for o in shown if o.key == MORE_KEY), None)
    return match_option(text, everything or shown)


def _pending_besides(conversation: Conversation, session: AsyncSession) -> bool:
    """Whether the session holds unflushed changes other than where the conversation stands."""
    return bool(session.new or session.deleted
                or any(o is not conversation for o in session.dirty))


class _WroteThenRefused(Exception):
    """A step wrote something, then a rule refused: roll the turn back and run it guarded."""


UNSIZED_POOL_TURNS = 10


def _pool_size(db: AsyncEngine) -> int:
    """How many turns may run at once: the pool's size (a pool without one: a fixed number)."""
    size = getattr(db.pool, "size", None)
    return max(1, size()) if callable(size) else UNSIZED_POOL_TURNS


def finish(*say: str) -> Finish:
    return Finish(list(say))


def goto(step: str, *say: str, dialog: str | None = None) -> Goto:
    return Goto(step=step, dialog=dialog, say=list(say))
