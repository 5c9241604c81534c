"""Acting on a request typed in one message: jump into the dialog it asks for, pre-filled.

The engine asks :func:`read` what a typed message that picked no option says (from the main
menu, a new conversation, or a choice step where typed words are not an answer, see
:func:`may_jump`); when it is a request, it resets the conversation to the menu and hands it to
:func:`act`, whose result (a step of the booking, appointments or packages dialog) the engine
applies as any step's result. Booking takes the treatment, practitioner, location and package
from the request (the package applies as usual: the one named, else the first usable one that
covers the treatment; "without a package" declines it) and asks only what is missing; its
confirmation step always comes before anything is booked. A cancel or reschedule request finds
the appointment it names (by day, treatment, practitioner), else shows the list. A request for
a copy of one's data or to be forgotten goes to :mod:`bot.dialogs.data_request` (a guardian not
naming a family member is first asked who it is for).
"""

from __future__ import annotations

from dataclasses import replace

from bot.dialogs import wishes
from bot.dialogs.appointments import MyAppointments
from bot.dialogs.base import Dialog, DialogContext, Goto, Result, Retry
from bot.dialogs.book import Book
from bot.dialogs.data_request import WHAT_KEY, DataRequest
from bot.dialogs.errors import explain
from bot.dialogs.matching import fold
from bot.dialogs.understand import Name, Names, Understood, understand
from bot.services import accounts, appointments, catalog, data_requests, package_scope
from bot.services.clinic_setup import FeeFacts, clinic_setup
from bot.services.errors import DomainError
from bot.storage.models import PatientPackage

# Where a typed request may leave the step: the menu, and the choice steps of booking, the
# appointments and the packages. Not where typed words are the answer itself (a message to the
# clinic, a name, a day or time, a package to buy) or a reminder's reply.
JUMP_DIALOGS = {"menu", "book", "appointments", "packages"}
NO_JUMP_STEPS = {"day", "time", "wait_day", "wait_part"}
PACKAGES = "packages"
ABOUT_DATA = {"my_data": data_requests.COPY, "forget_me": data_requests.ERASE}


def may_jump(dialog: str | None, step: str | None) -> bool:
    """Whether a typed request may leave this step for the dialog it asks for."""
    if dialog is None or dialog == "menu":
        return True
    return dialog in JUMP_DIALOGS and step not in NO_JUMP_STEPS


async def read(ctx: DialogContext, text: str) -> Understood | None:
    """What ``text`` asks for, when it is a request the patient may make here (else None)."""
    if ctx.account is None:
        return None
    setup = await clinic_setup(ctx.uow)
    names = Names(
        fees=tuple(Name(f.id, f.name, f.practitioner_ids) for f in setup.fees.values()),
        practitioners=tuple(Name(p.id, p.name) for p in setup.practitioners.values()),
        locations=tuple(Name(loc.id, loc.name) for loc in setup.locations.values()),
        packages=tuple(
            Name(p.id, p.name) for p in await catalog.usable_packages(ctx.uow, ctx.account.id)
        ),
    )
    now = ctx.now.astimezone(ctx.zone).replace(tzinfo=None)
    found = understand(text, ctx.t.language, now, names)
    if found.intent == "none":
        return None
    at_menu = ctx.conversation.dialog in (None, "menu")
    return found if at_menu or found.explicit else None  # "Ana" at "With whom?" is an answer


async def act(ctx: DialogContext, found: Understood, dialogs: dict[str, Dialog]) -> Result:
    """Where ``found`` leads, from the main menu with nothing chosen yet (a rule's refusal:
    explained, and the menu shown)."""
    try:
        return await _act(ctx, found, dialogs)
    except DomainError as exc:
        return Goto(dialogs["menu"].first_step, dialog="menu", say=[explain(ctx, exc)])


async def _act(ctx: DialogContext, found: Understood, dialogs: dict[str, Dialog]) -> Result:
    assert ctx.account is not None
    ctx.conversation.state["for"] = await _subject(ctx, found)
    if found.intent == PACKAGES and PACKAGES in dialogs:
        return Goto(dialogs[PACKAGES].first_step, dialog=PACKAGES)
    if found.intent in ABOUT_DATA and DataRequest.name in dialogs:
        return await _about_data(ctx, found)
    book, moves = dialogs.get(Book.name), dialogs.get(MyAppointments.name)
    if found.intent in ("cancel", "reschedule") and isinstance(moves, MyAppointments):
        return _in(moves, await _change(ctx, found, moves))
    if isinstance(book, Book):
        return _in(book, await _book(ctx, found, book))
    return Goto(dialogs["menu"].first_step, dialog="menu")


def _in(dialog: Dialog, result: Result) -> Result:
    """A step's result, said to be in ``dialog`` (the conversation stands at the menu)."""
    if isinstance(result, Retry):
        return Goto(dialog.first_step, dialog=dialog.name, say=[result.message])
    if isinstance(result, Goto) and result.dialog is None:
        return replace(result, dialog=dialog.name)
    return result


async def _about_data(ctx: DialogContext, found: Understood) -> Result:
    """A request about the data of the account or of the family member it names; a guardian
    who names nobody is asked who it is for (the menu's "who" step)."""
    assert ctx.account is not None
    ctx.data[WHAT_KEY] = ABOUT_DATA[found.intent]
    alone = len(await accounts.acting_for(ctx.uow, ctx.account.id)) == 1
    if ctx.conversation.state["for"] != ctx.account.id or alone:
        return Goto(DataRequest.first_step, dialog=DataRequest.name)
    ctx.data["target"] = DataRequest.name
    return Goto("who", dialog="menu")


async def _subject(ctx: DialogContext, found: Understood) -> int:
    """The account itself, or the family member whose first name the request says."""
    assert ctx.account is not None
    people = await accounts.acting_for(ctx.uow, ctx.account.id)
    words = set(found.words)
    named = [p for p in people[1:] if fold(p.first_name) in words]
    return named[0].id if len(named) == 1 else ctx.account.id


async def _book(ctx: DialogContext, found: Understood, book: Book) -> Result:
    wishes.keep(ctx, found)
    package = await _package(ctx, found, book)
    fees = await book.bookable_fees(ctx, await book.scope(ctx))
    if package is not None and not _fitting(fees, found):
        book.forget_package(ctx)  # the package covers nothing asked for: book without it
        fees = await book.bookable_fees(ctx, None)
    fitting = _fitting(fees, found)
    if len(fitting) == 1:
        return await book.choose_fee(ctx, fitting[0])
    ctx.data["fee_choices"] = [fee.id for fee in fitting]
    if package is None and not found.no_package and await book.usable(ctx):
        return Goto(book.first_step)  # "use your package?" as usual, then the treatment
    return Goto("fee")


def _fitting(fees: list[FeeFacts], found: Understood) -> list[FeeFacts]:
    """The fees the request may mean (all when it names no treatment or practitioner)."""
    if found.fee_ids:
        fees = [fee for fee in fees if fee.id in found.fee_ids]
    if found.practitioner_id is not None:
        fees = [fee for fee in fees if found.practitioner_id in fee.practitioner_ids]
    return fees


async def _package(ctx: DialogContext, found: Understood, book: Book) -> PatientPackage | None:
    """The package this booking uses: the one named, else the first usable one that covers
    what was asked (RULES.md 3: pre-selected; the confirmation offers to decline it)."""
    book.forget_package(ctx)
    if found.no_package:
        return None
    usable = await book.usable(ctx)
    for package in usable:
        if found.package_id not in (None, package.id):
            continue
        scope = await package_scope.scope_of(ctx.uow, package.id)
        if found.practitioner_id is not None and not scope.covers_practitioner(
            found.practitioner_id
        ):
            continue
        if found.location_id is not None and not scope.covers_location(found.location_id):
            continue
        if found.fee_ids and not all(scope.covers_fee(fee) for fee in found.fee_ids):
            continue  # not what was asked, or one of several meant: "use your package?" asks
        if not found.fee_ids and found.package_id is None:
            continue  # nothing says which treatment: the booking asks, with the package first
        ctx.data["use_package"] = package.id
        ctx.data["until"] = package.expires_on.isoformat() if package.expires_on else None
        return package
    return None


async def _change(ctx: DialogContext, found: Understood, moves: MyAppointments) -> Result:
    """Cancel or move the one upcoming appointment the request names, else show the list."""
    subject = await moves.checked_subject(ctx)
    named = [
        a for a in await appointments.upcoming_for(ctx.uow, subject)
        if (found.moving_from is None or found.moving_from.day is None
            or a.starts_at.astimezone(ctx.zone).date() == found.moving_from.day)
        and (not found.fee_ids or a.fee_id in found.fee_ids)
        and found.practitioner_id in (None, a.practitioner_id)
    ]
    if len(named) != 1:
        return Goto(moves.first_step)
    appointment = named[0]
    ctx.data["appointment_id"] = appointment.id
    if moves.too_soon(ctx, appointment):
        return Goto("too_late")
    if found.intent == "cancel":
        return Goto("cancel")
    ctx.data.update(
        fee_id=appointment.fee_id, practitioner_id=appointment.practitioner_id,
        location_id=appointment.location_id, exclude_id=appointment.id,
        current=appointment.starts_at.isoformat(), until=None,
    )
    if found.when is None:
        return Goto("day")
    result = await moves.choose(ctx, found.when, None)
    return Goto("day", say=[result.message]) if isinstance(result, Retry) else result
