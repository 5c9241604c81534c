"""Book an appointment (RULES.md 3, 4, 17, 20, 21).

Steps: ``start`` (which package, or "Without a package"; when the patient has no usable
package this step asks for the treatment directly), ``fee`` (with a package only its eligible
fees; skipped when there is one), ``place`` (practitioner and location the package allows;
skipped when there is one), then the shared ``day`` / ``time`` picker (:mod:`bot.dialogs.slots`)
and ``confirm``; the day and time steps also offer "Tell me if something opens", the
waitlist's steps (:mod:`bot.dialogs.waitlist_steps`). The package is pre-selected (RULES.md
3): the applicable package expiring first is the first option (or the one chosen in "My
packages", ``ctx.data["package_id"]``);
"Without a package" declines it. "Book with this package" in "My packages" enters through
:meth:`Book.with_package`, which skips that question. A time taken between showing and
confirming is explained and fresh times are shown. A clinic that asks a deposit to book
without a package gets it paid in the ``deposit`` step (:mod:`bot.dialogs.deposit_step`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.dialogs import wishes
from bot.dialogs.base import Answer, DialogContext, Goto, Result, Retry
from bot.dialogs.deposit_step import DepositStep
from bot.dialogs.errors import explain
from bot.dialogs.slots import SlotPicker, chosen_slot, slot_still_free, taken
from bot.dialogs.types import Option, Reply
from bot.dialogs.waitlist_steps import WAIT, JoinSteps, wait_option
from bot.services import accounts, appointments, availability, catalog, package_scope, packages
from bot.services.clinic_setup import FeeFacts
from bot.services.errors import NotAllowed, PackageNotUsable, SlotTaken
from bot.services.package_scope import PackageScope
from bot.storage.models import PatientPackage

NO_PACKAGE, CONFIRM, OTHER_TIME, DECLINE = "none", "yes", "other", "nopk"
SERIES = "series"  # "Book my remaining sessions" from this time (bot/dialogs/series.py)


def package_label(ctx: DialogContext, package: PatientPackage) -> str:
    """ "Physio 5-pack (3 left)"."""
    return ctx.t.ngettext(
        "{name} ({n} left)", "{name} ({n} left)", package.available, name=package.name
    )


def _id(key: str | None, prefix: str) -> int | None:
    if key is None or not key.startswith(prefix) or not key[len(prefix) :].isdecimal():
        return None
    return int(key[len(prefix) :])


class Book(JoinSteps, DepositStep, SlotPicker):
    """Books an appointment for the subject, with or without one of their packages."""

    name = "book"
    first_step = "start"
    after_time = "confirm"

    # -- no time suits: the waitlist (bot/dialogs/waitlist_steps.py) ------------------------

    async def ask_day(self, ctx: DialogContext) -> Reply:
        reply = await super().ask_day(ctx)
        if any(option.key.startswith("d") for option in reply.options):
            return reply  # free days to choose from; their times offer the waitlist
        return replace(reply, options=(*reply.options, wait_option(ctx)), first_page=(WAIT,))

    async def on_day(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == WAIT:
            return self.start_waiting(ctx)
        return await super().on_day(ctx, answer)

    async def ask_time(self, ctx: DialogContext) -> Reply:
        reply = await super().ask_time(ctx)
        return replace(reply, options=(*reply.options, wait_option(ctx)), first_page=(WAIT,))

    async def on_time(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == WAIT:
            return self.start_waiting(ctx)
        return await super().on_time(ctx, answer)

    async def ask_part(self, ctx: DialogContext) -> Reply:
        reply = await super().ask_part(ctx)
        if any(option.key == WAIT for option in reply.options):
            return reply  # the day filled up: the time step's reply, which has it
        return replace(reply, options=(*reply.options, wait_option(ctx)), first_page=(WAIT,))

    async def on_part(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == WAIT:
            return self.start_waiting(ctx)
        return await super().on_part(ctx, answer)

    # -- which package (or, with none usable, which treatment) -------------------------------

    async def ask_start(self, ctx: DialogContext) -> Reply:
        usable = await self.usable(ctx)
        if not usable:
            return await self.ask_fee(ctx)
        options = [Option(f"pk{p.id}", package_label(ctx, p)) for p in usable]
        options.append(Option(NO_PACKAGE, ctx._("Without a package")))
        return Reply(ctx._("Would you like to use your package for this booking?"), tuple(options))

    async def on_start(self, ctx: DialogContext, answer: Answer) -> Result:
        for moving in ("exclude_id", "current", "appointment_id"):  # nothing is being moved
            ctx.data.pop(moving, None)
        usable = await self.usable(ctx)
        if not usable:  # this step asked for the treatment
            self.forget_package(ctx)
            return await self.on_fee(ctx, answer)
        if answer.key == NO_PACKAGE:
            self.forget_package(ctx)
            return Goto("fee")
        package_id = _id(answer.key, "pk")
        package = next((p for p in usable if p.id == package_id), None)
        if package is None:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        return await self.use_package(ctx, package)

    async def with_package(self, ctx: DialogContext, package_id: int) -> Result:
        """Start booking with that package already chosen ("Book with this package" in "My
        packages"): straight to its treatment, practitioner or day, no "use your package?"."""
        for moving in ("exclude_id", "current", "appointment_id"):
            ctx.data.pop(moving, None)
        usable = await self.usable(ctx)
        package = next((p for p in usable if p.id == package_id), None)
        if package is None:
            return Goto(self.first_step, dialog=self.name)
        result = await self.use_package(ctx, package)
        if isinstance(result, Goto) and result.dialog is None:
            result.dialog = self.name
        return result

    async def use_package(self, ctx: DialogContext, package: PatientPackage) -> Result:
        """Book with ``package``: its one treatment and place are taken without asking."""
        ctx.data["use_package"] = package.id
        ctx.data["until"] = package.expires_on.isoformat() if package.expires_on else None
        fees = await self.bookable_fees(ctx, await package_scope.scope_of(ctx.uow, package.id))
        if not fees:
            return Retry(ctx._(
                "That package cannot be booked online. Please choose another option, "
                "or send a message to the clinic."
            ))
        if len(fees) == 1:
            return await self.choose_fee(ctx, fees[0])
        return Goto("fee")

    async def usable(self, ctx: DialogContext) -> list[PatientPackage]:
        """The subject's usable packages; the one chosen in "My packages" first."""
        found = await catalog.usable_packages(ctx.uow, ctx.subject_id)
        chosen = ctx.data.get("package_id")
        return sorted(found, key=lambda p: p.id != chosen)

    @staticmethod
    def forget_package(ctx: DialogContext) -> None:
        ctx.data["use_package"] = None
        ctx.data["until"] = None

    # -- which treatment ---------------------------------------------------------------------

    async def package(self, ctx: DialogContext) -> PatientPackage | None:
        """The package chosen for this booking (None: without one)."""
        package_id = ctx.data.get("use_package")
        if package_id is None:
            return None
        return await packages.get_package(ctx.uow, int(package_id))

    async def scope(self, ctx: DialogContext) -> PackageScope | None:
        """What the package chosen for this booking covers (None: booking without one)."""
        package_id = ctx.data.get("use_package")
        if package_id is None:
            return None
        return await package_scope.scope_of(ctx.uow, int(package_id))

    async def bookable_fees(self, ctx: DialogContext, scope: PackageScope | None) -> list[FeeFacts]:
        """The fees that can be booked (with a package: those it covers), in clinic order."""
        wanted = await catalog.fees(ctx.uow)
        if scope is not None:
            wanted = [fee for fee in wanted if scope.covers_fee(fee.id)]
        return [fee for fee in wanted if await availability.allowed_pairs(ctx.uow, fee.id, scope)]

    async def ask_fee(self, ctx: DialogContext) -> Reply:
        fees = await self.bookable_fees(ctx, await self.scope(ctx))
        asked = [fee for fee in fees if fee.id in ctx.data.get("fee_choices", ())]
        fees = asked or fees
        options = tuple(Option(f"f{fee.id}", fee.name) for fee in fees)
        return Reply(ctx._("What would you like to book?"), options)

    async def on_fee(self, ctx: DialogContext, answer: Answer) -> Result:
        fee_id = _id(answer.key, "f")
        fees = await self.bookable_fees(ctx, await self.scope(ctx))
        fee = next((f for f in fees if f.id == fee_id), None)
        if fee is None:
            return Retry(ctx._("Please answer with the number of one of the treatments."))
        return await self.choose_fee(ctx, fee)

    async def choose_fee(self, ctx: DialogContext, fee: FeeFacts) -> Result:
        ctx.data["fee_id"] = fee.id
        found = await self.pairs(ctx)
        if len(found) == 1:
            ctx.data.update(practitioner_id=found[0][0], location_id=found[0][1])
            return await self.to_day(ctx)
        return Goto("place")

    async def to_day(self, ctx: DialogContext) -> Result:
        """The day step, or straight to the times of the day a typed request asked for."""
        wanted = wishes.wanted(ctx)
        if wanted is None:
            return Goto("day")
        result = await self.choose(ctx, wanted, None)
        return Goto("day", say=[result.message]) if isinstance(result, Retry) else result

    # -- with whom, where --------------------------------------------------------------------

    async def pairs(self, ctx: DialogContext) -> list[tuple[int, int, str]]:
        """Who and where the fee can be booked (those a typed request named, when it did)."""
        found = await availability.allowed_pairs(
            ctx.uow, int(ctx.data["fee_id"]), await self.scope(ctx)
        )
        named = wishes.narrow(ctx, [
            (p.id, loc.id, ctx._("{practitioner}, {location}", practitioner=p.name,
                                  location=loc.name))
            for p, loc in found
        ], 0, 1)
        return await wishes.open_that_day(ctx, int(ctx.data["fee_id"]), named)

    async def ask_place(self, ctx: DialogContext) -> Reply:
        options = tuple(Option(f"a{p}-{loc}", label) for p, loc, label in await self.pairs(ctx))
        return Reply(ctx._("With whom, and where?"), options)

    async def on_place(self, ctx: DialogContext, answer: Answer) -> Result:
        for practitioner_id, location_id, _label in await self.pairs(ctx):
            if answer.key == f"a{practitioner_id}-{location_id}":
                ctx.data.update(practitioner_id=practitioner_id, location_id=location_id)
                return await self.to_day(ctx)
        return Retry(ctx._("Please answer with the number of one of the choices."))

    # -- confirm -----------------------------------------------------------------------------

    async def facts(self, ctx: DialogContext) -> dict[str, Any]:
        fee = await catalog.get_fee(ctx.uow, int(ctx.data["fee_id"]))
        return {
            "fee": fee,
            "treatment": fee.name,
            "practitioner": (
                await catalog.get_practitioner(ctx.uow, int(ctx.data["practitioner_id"]))
            ).name,
            "location": (await catalog.get_location(ctx.uow, int(ctx.data["location_id"]))).name,
            "when": ctx.when(chosen_slot(ctx)),
        }

    async def ask_confirm(self, ctx: DialogContext) -> Reply:
        if self.booked(ctx):
            return await self.ask_deposit(ctx)
        facts = await self.facts(ctx)
        other = Option(OTHER_TIME, ctx._("Choose another time"))
        if not await slot_still_free(ctx):
            text = ctx._("Sorry, that time ({when}) is no longer free.", when=facts["when"])
            return Reply(text, (other,))
        lines = [
            ctx._("Please check your booking:"),
            ctx._("{when}: {treatment} with {practitioner} at {location}.",
                  treatment=facts["treatment"], practitioner=facts["practitioner"],
                  location=facts["location"], when=facts["when"]),
        ]
        package = await self.package(ctx)
        if package is not None:
            left = package.available - 1
            lines.append(ctx.t.ngettext(
                "Uses 1 of your {package}: {n} left after this.",
                "Uses 1 of your {package}: {n} left after this.", left, package=package.name,
            ))
            pays = package.patient_pays
        else:
            pays = facts["fee"].price
        lines.append(ctx._("You pay {amount} for this session.", amount=ctx.money(pays)))
        options = [Option(CONFIRM, ctx._("Confirm")), other]
        if package is not None and wishes.wish(ctx) is not None:  # applied without asking
            options.append(Option(DECLINE, ctx._("Without the package")))
        if package is not None and package.available > 1 and self.name == Book.name:
            options.append(Option(SERIES, ctx._("Book my remaining sessions")))
        return Reply("\n".join(lines), tuple(options))

    async def on_confirm(self, ctx: DialogContext, answer: Answer) -> Result:
        if self.booked(ctx):
            return await self.on_deposit(ctx, answer)
        if answer.key == OTHER_TIME:
            return Goto("time")
        if answer.key == DECLINE:
            self.forget_package(ctx)
            return Goto("confirm")
        if answer.key == SERIES and ctx.data.get("use_package") is not None:
            ctx.data.update(package_id=ctx.data["use_package"], series_from_booking=True)
            return Goto("rhythm", dialog=SERIES)
        if answer.key != CONFIRM:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        if ctx.account is None:
            raise NotAllowed("booking needs a known patient")
        subject = await accounts.require_may_act(ctx.uow, ctx.account.id, ctx.subject_id)
        package_id = ctx.data.get("use_package")
        try:
            appointment = await appointments.book(
                ctx.uow,
                patient_id=subject.id,
                practitioner_id=int(ctx.data["practitioner_id"]),
                location_id=int(ctx.data["location_id"]),
                fee_id=int(ctx.data["fee_id"]),
                starts_at=chosen_slot(ctx),
                package_id=int(package_id) if package_id is not None else None,
                booked_by="patient",
            )
        except SlotTaken:
            return taken(ctx)
        except PackageNotUsable as exc:
            self.forget_package(ctx)
            return Goto(self.first_step, say=[explain(ctx, exc)])
        said = await self.booked_text(ctx, subject.id, subject.first_name)
        return await self.after_booking(ctx, appointment, said)

    async def booked_text(self, ctx: DialogContext, subject_id: int, first_name: str) -> list[str]:
        facts = await self.facts(ctx)
        values = {k: facts[k] for k in ("treatment", "practitioner", "location", "when")}
        assert ctx.account is not None
        if subject_id == ctx.account.id:
            said = [ctx._("Booked for {when}: {treatment} with {practitioner} at {location}.",
                          **values)]
        else:
            said = [ctx._("Booked for {name}, {when}: {treatment} with {practitioner} at "
                          "{location}.", name=first_name, **values)]
        package = await self.package(ctx)
        if package is not None:
            said.append(ctx.t.ngettext(
                "{package}: {n} use left.", "{package}: {n} uses left.", package.available,
                package=package.name,
            ))
        return said
