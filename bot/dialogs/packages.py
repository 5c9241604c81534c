"""My packages (RULES.md 11, 17): the subject's packages, and one package's details.

The list shows each package with what is left and until when (or why it cannot be used: used
up, all booked, expired, awaiting payment, refunded); a package's details are those RULES.md 11
promises: purchase date, price, paid, uses redeemed / booked / available, expiry, status, and
the sessions it covered (those before online records counted on one line). From there the
patient can book with it: the booking dialog (``BOOK_DIALOG``) starts with it chosen (no "use
your package?" question), or ask for its statement (issue 18): on Telegram the dialog asks the
channel for the PDF (a ``statement_pdf`` effect: the adapter sends it as a document); elsewhere
(SMS) it answers with a short summary (:func:`bot.services.statements.summary`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.dialogs.base import Answer, Dialog, DialogContext, Effect, Goto, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import accounts, package_views, statements
from bot.services.errors import NotAllowed
from bot.services.package_views import PackageDetails, SessionCovered

BOOK_DIALOG = "book"
BUY_DIALOG = "buy"
SERIES_DIALOG = "series"  # book the remaining uses at a rhythm (bot/dialogs/series.py)
BOOK, BUY, BACK, STATEMENT, SERIES = "book", "buy", "back", "statement", "series"
DOCUMENT_CHANNELS = frozenset({"telegram"})  # channels that send the statement as a PDF
IMPORTED = "imported"  # a use redeemed before the clinic's online records


@runtime_checkable
class BooksWithPackage(Protocol):
    """A booking dialog that can start with a package already chosen."""

    async def with_package(self, ctx: DialogContext, package_id: int) -> Result: ...


def _dialog(name: str) -> Dialog | None:
    """A registered dialog (None when it is not registered), read from the registry.

    The booking dialog is written separately; this module knows it only by ``BOOK_DIALOG``,
    the ``package_id`` it leaves in ``ctx.data`` and :class:`BooksWithPackage`.
    """
    from bot.dialogs import registry  # imported here: the registry imports this module

    return registry.build_dialogs().get(name)


def first_step(dialog: str) -> str | None:
    """Where a registered dialog starts (None when it is not registered)."""
    found = _dialog(dialog)
    return found.first_step if found is not None else None


def status_text(ctx: DialogContext, package: PackageDetails) -> str:
    """The package's status in the patient's language."""
    _ = ctx._
    return {
        "awaiting_payment": _("awaiting payment"),
        "active": _("active"),
        "expired": _("expired"),
        "refunded": _("refunded"),
    }[package.status]


def package_label(ctx: DialogContext, package: PackageDetails) -> str:
    """One line of the list: "Physio 5-pack: 3 left, until Mar 30, 2027", or what stops its use
    (used up, all uses booked, expired on a day, awaiting payment, refunded)."""
    t, name = ctx.t, package.name
    if package.status == "expired" and package.expires_on is not None:
        return t.gettext("{name}: expired {day}", name=name, day=t.date_text(package.expires_on))
    if package.status != "active":
        return t.gettext("{name}: {status}", name=name, status=status_text(ctx, package))
    if package.available == 0:
        return (t.gettext("{name}: all uses booked", name=name) if package.booked
                else t.gettext("{name}: used up", name=name))
    if package.expires_on is None:
        return t.ngettext("{name}: {n} left", "{name}: {n} left", package.available, name=name)
    return t.ngettext("{name}: {n} left, until {day}", "{name}: {n} left, until {day}",
                      package.available, name=name, day=t.date_text(package.expires_on))


def session_text(ctx: DialogContext, session: SessionCovered) -> str:
    """One session the package covered; upcoming (booked) ones and missed ones are marked."""
    _ = ctx._
    day = ctx.t.date_text(session.day) if session.day else "?"
    treatment = session.fee or _("session")
    who = session.practitioner or _("the clinic")
    if session.upcoming:
        return _("{day}: {treatment} with {who} (upcoming)", day=day, treatment=treatment, who=who)
    if session.kind == "no_show":
        return _("{day}: {treatment} with {who} (missed)", day=day, treatment=treatment, who=who)
    return _("{day}: {treatment} with {who}", day=day, treatment=treatment, who=who)


def sessions_lines(ctx: DialogContext, sessions: list[SessionCovered]) -> list[str]:
    """The sessions covered, those used before online records as one line ("3 sessions before
    online records") ahead of the others."""
    earlier = sum(1 for session in sessions if session.kind == IMPORTED)
    lines = [ctx.t.ngettext("{n} session before online records",
                            "{n} sessions before online records", earlier)] if earlier else []
    lines.extend(session_text(ctx, s) for s in sessions if s.kind != IMPORTED)
    return lines


def details_text(ctx: DialogContext, package: PackageDetails) -> str:
    """Everything RULES.md 11 promises about the package, one fact per line."""
    _ = ctx._
    lines = [
        _("{name} ({status})", name=package.name, status=status_text(ctx, package)),
        _("Bought {day} for {price}; paid {paid}.", day=ctx.t.date_text(package.purchased_on),
          price=ctx.money(package.price), paid=ctx.money(package.paid)),
    ]
    if package.outstanding > 0 and package.status != "refunded":
        lines.append(_("Still to pay: {amount}", amount=ctx.money(package.outstanding)))
    lines.append(_("Uses: {redeemed}, {booked}, {available}",
                   redeemed=ctx.t.ngettext("{n} used", "{n} used", package.redeemed),
                   booked=ctx.t.ngettext("{n} booked", "{n} booked", package.booked),
                   available=ctx.t.ngettext("{n} available", "{n} available", package.available)))
    if package.expires_on is None:
        lines.append(_("No expiry"))
    else:
        lines.append(_("Expires {day}", day=ctx.t.date_text(package.expires_on)))
    if package.refund_amount is not None:
        lines.append(_("Refunded: {amount}", amount=ctx.money(package.refund_amount)))
    if package.sessions:
        lines.append(_("Sessions covered:"))
        lines.extend(sessions_lines(ctx, package.sessions))
    return "\n".join(lines)


class MyPackages(Dialog):
    """The patient's (or their ward's) packages and what each one covered."""

    name = "packages"
    first_step = "list"

    async def ask_list(self, ctx: DialogContext) -> Reply:
        subject = await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
        owned = await package_views.packages_for(ctx.uow, subject.id)
        mine = subject.id == _account_id(ctx)
        if not owned:
            text = (
                ctx._("You have no packages yet.") if mine
                else ctx._("{name} has no packages yet.", name=subject.first_name)
            )
            return Reply(text, (Option(BUY, ctx._("Buy a package")),))
        text = (
            ctx._("Your packages:") if mine
            else ctx._("{name}'s packages:", name=subject.first_name)
        )
        options = tuple(Option(f"pk{p.id}", package_label(ctx, p)) for p in owned)
        return Reply(text, options)

    async def on_list(self, ctx: DialogContext, answer: Answer) -> Result:
        key = answer.key
        if key == BUY:
            step = first_step(BUY_DIALOG)
            if step is not None:
                return Goto(step, dialog=BUY_DIALOG)
        if key is None or not key.startswith("pk") or not key[2:].isdecimal():
            return Retry(ctx._("Please answer with the number of one of the packages."))
        subject = await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
        package = await package_views.package_details(ctx.uow, int(key[2:]))
        if package.patient_id != subject.id:
            raise NotAllowed("a package can be viewed only from its owner's or guardian's account")
        ctx.data["package_id"] = package.id
        return Goto("details")

    async def ask_details(self, ctx: DialogContext) -> Reply:
        package = await self._package(ctx)
        options = [Option(STATEMENT, ctx._("Statement")), Option(BACK, ctx._("Back"))]
        if (package.status == "active" and package.available > 1 and first_step(SERIES_DIALOG)
                and first_step(BOOK_DIALOG)):  # a series is booked with the booking's steps
            options.insert(0, Option(SERIES, ctx._("Book my remaining sessions")))
        if package.status == "active" and package.available > 0 and first_step(BOOK_DIALOG):
            options.insert(0, Option(BOOK, ctx._("Book with this package")))
        return Reply(details_text(ctx, package), tuple(options))

    async def on_details(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BACK:
            return Goto("list")
        if answer.key == STATEMENT:
            package = await self._package(ctx)
            if ctx.channel in DOCUMENT_CHANNELS:
                ctx.effects.append(Effect("statement_pdf", {"package_id": package.id,
                                                            "locale": ctx.t.locale}))
            return Goto("statement")
        step = first_step(SERIES_DIALOG)
        if answer.key == SERIES and step is not None:
            ctx.data["package_id"] = (await self._package(ctx)).id
            ctx.data.pop("series_from_booking", None)
            return Goto(step, dialog=SERIES_DIALOG)
        booking = _dialog(BOOK_DIALOG)
        if answer.key == BOOK and booking is not None:
            package = await self._package(ctx)
            ctx.data["package_id"] = package.id
            if isinstance(booking, BooksWithPackage):
                return await booking.with_package(ctx, package.id)
            return Goto(booking.first_step, dialog=BOOK_DIALOG)
        return Retry(ctx._("Please answer with the number of one of the choices."))

    async def ask_statement(self, ctx: DialogContext) -> Reply:
        package = await self._package(ctx)
        if ctx.channel in DOCUMENT_CHANNELS:
            text = ctx._("Here is the statement of {name} as a PDF file.", name=package.name)
        else:
            found = await statements.package_statement(ctx.uow, package.id)
            text = statements.summary(found, ctx.t)
        return Reply(text, (Option(BACK, ctx._("Back")),))

    async def on_statement(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BACK:
            return Goto("details")
        return Retry(ctx._("Please answer with the number of one of the choices."))

    async def _package(self, ctx: DialogContext) -> PackageDetails:
        subject = await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
        package = await package_views.package_details(ctx.uow, int(ctx.data["package_id"]))
        if package.patient_id != subject.id:
            raise NotAllowed("a package can be viewed only from its owner's or guardian's account")
        return package


def _account_id(ctx: DialogContext) -> int:
    assert ctx.account is not None
    return ctx.account.id
