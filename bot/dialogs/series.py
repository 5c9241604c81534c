"""Book my remaining sessions (issue 19): a package's uses booked at a rhythm, in one go.

Entered from "My packages" (a package with two or more uses available: "Book my remaining
sessions", ``ctx.data["package_id"]``) or from the booking dialog's confirmation (the time
already chosen is the first session: ``ctx.data["series_from_booking"]``). Steps: ``rhythm``
(Every week / Every 2 weeks / Another rhythm), ``every`` (the number of days, typed), then the
booking dialog's treatment, place, ``day`` and ``time`` steps for the first session (skipped when
it comes from a booking), and ``proposal``: every date of the series
(:func:`bot.services.series.propose`), a time moved to the nearest free one marked with the
time it replaces. Confirm books them all at once; if one was taken meanwhile nothing is booked,
the patient is told and a fresh proposal is shown.
"""

from __future__ import annotations

from datetime import datetime

from bot.dialogs.base import Answer, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.book import Book
from bot.dialogs.errors import explain
from bot.dialogs.slots import chosen_slot
from bot.dialogs.types import Option, Reply
from bot.services import accounts, packages, series
from bot.services.errors import NotAllowed, PackageNotUsable
from bot.storage.models import PatientPackage

WEEKLY, FORTNIGHTLY, OTHER_RHYTHM = "w7", "w14", "wn"
CONFIRM, OTHER_TIME = "yes", "other"
FROM_BOOKING = "series_from_booking"
MIN_USES = 2  # fewer uses left: there is no series to book, just a booking


class BookSeries(Book):
    """Books the rest of a package's uses, every week, every 2 weeks or every N days."""

    name = "series"
    first_step = "rhythm"
    after_time = "proposal"

    async def series_package(self, ctx: DialogContext) -> PatientPackage:
        """The package the series uses, once the account may act for its owner."""
        if ctx.account is None:
            raise NotAllowed("booking needs a known patient")
        subject = await accounts.require_may_act(ctx.uow, ctx.account.id, ctx.subject_id)
        package = await packages.get_package(ctx.uow, int(ctx.data["package_id"]))
        if package.patient_id != subject.id:
            raise NotAllowed("a package covers only its owner's appointments")
        return package

    # -- the rhythm --------------------------------------------------------------------------

    async def ask_rhythm(self, ctx: DialogContext) -> Reply:
        package = await self.series_package(ctx)
        text = ctx.t.ngettext(
            "Your {package} has {n} use left. How often would you like to come?",
            "Your {package} has {n} uses left. How often would you like to come?",
            package.available, package=package.name,
        )
        return Reply(text, (
            Option(WEEKLY, ctx._("Every week")), Option(FORTNIGHTLY, ctx._("Every 2 weeks")),
            Option(OTHER_RHYTHM, ctx._("Every few days (type how many)")),
        ))

    async def on_rhythm(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == OTHER_RHYTHM:
            return Goto("every")
        if answer.key not in (WEEKLY, FORTNIGHTLY):
            return Retry(ctx._("Please answer with the number of one of the choices."))
        return await self.with_rhythm(ctx, 7 if answer.key == WEEKLY else 14)

    async def ask_every(self, ctx: DialogContext) -> Reply:
        return Reply(ctx._("Every how many days? Type a number from 1 to {most}.",
                           most=series.MAX_EVERY_DAYS))

    async def on_every(self, ctx: DialogContext, answer: Answer) -> Result:
        typed = answer.text.strip()
        if not typed.isdecimal() or not 1 <= int(typed) <= series.MAX_EVERY_DAYS:
            return Retry(ctx._("Please type a number of days from 1 to {most}.",
                               most=series.MAX_EVERY_DAYS))
        return await self.with_rhythm(ctx, int(typed))

    async def with_rhythm(self, ctx: DialogContext, every_days: int) -> Result:
        """Keep the rhythm; then the first session's time (unless a booking chose it)."""
        ctx.data["every_days"] = every_days
        package = await self.series_package(ctx)
        if ctx.data.get(FROM_BOOKING) and ctx.data.get("slot"):
            return Goto("proposal")
        usable = await self.usable(ctx)
        if not any(p.id == package.id for p in usable):
            return Finish([ctx._("That package cannot be booked online. Please send a message "
                                 "to the clinic.")])
        return await self.use_package(ctx, package)

    # -- the proposal ------------------------------------------------------------------------

    async def ask_proposal(self, ctx: DialogContext) -> Reply:
        package = await self.series_package(ctx)
        other = Option(OTHER_TIME, ctx._("Choose another first time"))
        try:
            proposal = await series.propose(
                ctx.uow, package_id=package.id, practitioner_id=int(ctx.data["practitioner_id"]),
                location_id=int(ctx.data["location_id"]), fee_id=int(ctx.data["fee_id"]),
                first_start=chosen_slot(ctx), every_days=int(ctx.data["every_days"]),
            )
        except PackageNotUsable as exc:
            return Reply(explain(ctx, exc), (other,))
        ctx.data["series_starts"] = [s.isoformat() for s in proposal.starts]
        if not proposal.occurrences:
            return Reply(ctx._("Sorry, none of those times is free any more."), (other,))
        facts = await self.facts(ctx)
        count = len(proposal.occurrences)
        lines = [ctx.t.ngettext(
            "{n} session of {treatment} with {practitioner} at {location}:",
            "{n} sessions of {treatment} with {practitioner} at {location}:", count,
            treatment=facts["treatment"], practitioner=facts["practitioner"],
            location=facts["location"],
        )]
        for occurrence in proposal.occurrences:
            if occurrence.moved:
                lines.append(ctx._("- {when} (instead of {wanted}, which is not free)",
                                   when=ctx.when(occurrence.starts_at),
                                   wanted=ctx.when(occurrence.wanted)))
            else:
                lines.append(ctx._("- {when}", when=ctx.when(occurrence.starts_at)))
        lines.extend(ctx._("No free time near {when}: not included.", when=ctx.when(wanted))
                     for wanted in proposal.skipped)
        left = package.available - count
        if left:
            lines.append(ctx.t.ngettext(
                "{n} use stays on your {package} for later.",
                "{n} uses stay on your {package} for later.", left, package=package.name))
        return Reply("\n".join(lines), (Option(CONFIRM, ctx._("Confirm")), other))

    async def on_proposal(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == OTHER_TIME:
            ctx.data.pop(FROM_BOOKING, None)
            return Goto("day")
        starts = [datetime.fromisoformat(s) for s in ctx.data.get("series_starts", [])]
        if answer.key != CONFIRM or not starts:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        package = await self.series_package(ctx)
        try:
            await series.book_series(
                ctx.uow, package_id=package.id, practitioner_id=int(ctx.data["practitioner_id"]),
                location_id=int(ctx.data["location_id"]), fee_id=int(ctx.data["fee_id"]),
                every_days=int(ctx.data["every_days"]), starts=starts, booked_by="patient",
            )
        except series.SeriesChanged:
            return Goto("proposal", say=[ctx._(
                "Sorry, one of those times was just taken, so nothing was booked. "
                "Here is a new proposal.")])
        package = await packages.get_package(ctx.uow, package.id)
        return Finish([ctx.t.ngettext(
            "Booked: {n} session. Each one uses 1 of your {package}.",
            "Booked: {n} sessions. Each one uses 1 of your {package}.", len(starts),
            package=package.name,
        )])
