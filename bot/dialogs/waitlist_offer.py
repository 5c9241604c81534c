"""Answering a waitlist offer: ``1`` books the time held for the patient, ``2`` passes (issue 19).

When the outbox sends an offer (:mod:`bot.services.waitlist_offers`) it calls
:func:`await_answer` in the transaction that marks the message sent: the conversation on that
channel and address is put in this dialog's ``answer`` step for that offer, acting for the
waiting patient (the guardian answers for a child, RULES.md 17).

* ``1`` (or a yes) books it with the patient's package (``waitlist_offers.accept``); if someone
  else was first, or the time is no longer free, the patient is told it has gone and stays on
  the waitlist; a time now inside the clinic's booking notice is refused saying so. Booked
  without a package at a clinic that asks a deposit, the deposit is offered next
  (:mod:`bot.dialogs.deposit_step`).
* ``2`` (or a no) passes it to the next patient; they stay on the waitlist.

Numbers, as every SMS choice; never "reply CANCEL" (INTERFACES.md). On Telegram the two answers
are also buttons.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dialogs import keywords
from bot.dialogs.base import Answer, DialogContext, Finish, Result, Retry
from bot.dialogs.deposit_step import DepositStep
from bot.dialogs.matching import fold
from bot.dialogs.reminder import BUTTON_CHANNELS, put_conversation
from bot.dialogs.types import Option, Reply
from bot.i18n import Translator
from bot.services import accounts, catalog, waitlist_offers
from bot.services.waitlist_offers import OfferGone, TooSoon
from bot.storage.models import Clinic, Patient, WaitlistEntry, WaitlistOffer
from bot.storage.uow import UnitOfWork

TAKE, PASS = "1", "2"
NAME, STEP = "waitlist_offer", "answer"


def reply_hint(t: Translator) -> str:
    """How to answer, in the text itself (SMS shows no buttons)."""
    return t.gettext("Reply 1 to book it or 2 to let it go.")


def reply_options(t: Translator) -> tuple[Option, ...]:
    """The answers as buttons (keys are the numbers)."""
    return (Option(TAKE, t.gettext("Book it")), Option(PASS, t.gettext("Let it go")))


async def offer_text(
    uow: UnitOfWork, t: Translator, clinic: Clinic, offer: WaitlistOffer
) -> str:
    """The offer: for whom, what, with whom, where and when, until when it is held."""
    entry = await uow.session.get(WaitlistEntry, offer.entry_id)
    patient = await uow.session.get(Patient, entry.patient_id) if entry else None
    fee = await catalog.get_fee(uow, entry.fee_id if entry else -1)
    practitioner = await catalog.get_practitioner(uow, offer.practitioner_id)
    location = await catalog.get_location(uow, offer.location_id)
    tz = ZoneInfo(clinic.timezone)
    text = t.gettext(
        "{clinic}: a time opened up for {name}, held for you until {until}: {when}, "
        "{treatment} with {practitioner} at {location}.",
        clinic=clinic.name, name=patient.first_name if patient else "",
        when=t.datetime_text(offer.starts_at, tz), treatment=fee.name,
        practitioner=practitioner.name, location=location.name,
        until=t.time_text(offer.expires_at, tz),
    )
    return f"{text} {reply_hint(t)}"


async def await_answer(
    uow: UnitOfWork, *, channel: str, address: str, account_id: int, offer: WaitlistOffer,
    t: Translator, now: datetime,
) -> None:
    """Put the conversation at ``channel``/``address`` in this dialog for ``offer``."""
    entry = await uow.session.get(WaitlistEntry, offer.entry_id)
    assert entry is not None  # a foreign key
    shown = [[o.key, o.label] for o in reply_options(t)] if channel in BUTTON_CHANNELS else []
    await put_conversation(
        uow, channel=channel, address=address, account_id=account_id,
        subject_id=entry.patient_id, place=(NAME, STEP), data={"offer_id": offer.id},
        shown=shown, now=now,
    )


class WaitlistOfferDialog(DepositStep):
    """The reply to a waitlist offer (see the module docstring)."""

    name = NAME
    first_step = STEP

    def help(self, ctx: DialogContext, step: str) -> str:
        del step
        return ctx._("Reply 1 to book the time offered or 2 to let it go. MENU: main menu.")

    async def offer(self, ctx: DialogContext) -> WaitlistOffer | None:
        """The offer, once the account is known to act for its patient."""
        chosen = ctx.data.get("offer_id")
        if ctx.account is None or not isinstance(chosen, int):
            return None
        offer = await ctx.uow.session.get(WaitlistOffer, chosen)
        entry = await ctx.uow.session.get(WaitlistEntry, offer.entry_id) if offer else None
        if entry is None:
            return None
        await accounts.require_may_act(ctx.uow, ctx.account.id, entry.patient_id)
        return offer

    async def ask_answer(self, ctx: DialogContext) -> Reply:
        offer = await self.offer(ctx)
        if offer is None or offer.status != "open" or offer.expires_at <= ctx.now:
            return Reply(self.gone(ctx), (Option("menu", ctx._("Back to menu")),))
        text = await offer_text(ctx.uow, ctx.t, ctx.clinic, offer)
        return Reply(text, reply_options(ctx.t) if ctx.channel in BUTTON_CHANNELS else ())

    def gone(self, ctx: DialogContext) -> str:
        return ctx._("Sorry, that time has gone. You stay on the waitlist and we will tell you "
                     "if another one opens.")

    async def on_answer(self, ctx: DialogContext, answer: Answer) -> Result:
        said = fold(answer.text)
        choice = answer.key if answer.key in (TAKE, PASS) else said
        if choice not in (TAKE, PASS):
            choice = TAKE if said in keywords.YES else PASS if said in keywords.NO else ""
        offer = await self.offer(ctx)
        if offer is None:
            return Finish([self.gone(ctx)])
        if not choice:
            return Retry(ctx._("Please reply 1 to book it or 2 to let it go."))
        assert ctx.account is not None
        if choice == PASS:
            await waitlist_offers.decline(ctx.uow, offer.id, acting_patient_id=ctx.account.id)
            return Finish([ctx._("All right. You stay on the waitlist.")])
        try:
            appointment = await waitlist_offers.accept(
                ctx.uow, offer.id, acting_patient_id=ctx.account.id)
        except TooSoon:
            return Finish([ctx._(
                "Sorry, that time is now too close to book online: the clinic needs "
                "{minutes} minutes' notice. You stay on the waitlist and we will tell you if "
                "another one opens.", minutes=ctx.clinic.min_notice_minutes)])
        except OfferGone:
            return Finish([self.gone(ctx)])
        booked = [ctx._("Booked: {when}. See you then!", when=ctx.when(appointment.starts_at))]
        return await self.after_booking(ctx, appointment, booked)  # a deposit, if one is asked
