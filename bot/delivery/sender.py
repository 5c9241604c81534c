"""The delivery pass: claim due outbox rows, decide, send, record (DESIGN.md outbox; RULES.md 14).

:meth:`Deliverer.run_once` claims small batches (:mod:`bot.delivery.queue`) until nothing is
due or :attr:`DeliveryPolicy.max_messages` were handled. The rows of a batch are delivered at
once, except that the rows going to one destination (a channel and address: a phone, a chat, as
routed when the batch is claimed; so a guardian's wards, a merged profile's rows and staff
sharing a group chat count as one) go one after the other, in the order they were due (so a
provider's round trip does not limit the pass to one message per round trip; channel adapters
pace themselves, see :mod:`bot.delivery.channels`). For each claimed row, in a short
transaction: the claim is renewed (so a slow batch is not taken over), and the row is

* **skipped** when it no longer matters (``reminders.why_not_send``: invoice paid, appointment
  cancelled or moved...), when the patient (or the guardian it goes to) opted out, or when no
  configured channel reaches the recipient;
* **held** during the clinic's quiet hours: ``not_before`` moves to their end (clinic time).
  This holds for staff alerts too, on Telegram and by SMS: nobody's phone buzzes at night for
  a no-show or an unpaid invoice, and the desk's inbox shows every alert meanwhile;
* otherwise rendered in the recipient's language (:mod:`bot.delivery.notifications`).

With payment links on, an unpaid-invoice or renewal reminder and a no-show fee notice end with
the link to pay what the invoice owes (:func:`bot.services.payment_links.invoice_to_pay`), made
after that transaction committed and before the send (:func:`bot.delivery.pay_link
.reminder_line`): quiet hours and the row's claim hold as for any message, and when the provider
fails the message goes without its link rather than not at all.

The transaction is committed *before* the provider is called (no database lock is held over the
network). The channel then sends; a second transaction records the outcome: ``sent`` with the
channel, provider message id, text and time (an appointment reminder also puts the conversation
into the reminder dialog, :func:`bot.dialogs.reminder.await_answer`, and a waitlist offer into
its own, :func:`bot.dialogs.waitlist_offer.await_answer`, in that same transaction);
a transient failure goes back to ``pending`` with exponential backoff, and after
:attr:`DeliveryPolicy.max_attempts` (or at once on a permanent refusal) becomes ``failed`` and
staff are alerted (``delivery_failed``, ids only); a provider opt-out opts the patient out.

Each row handled (its channel, or ``none``, and what became of it) and the latency of each
message sent (sent time minus ``not_before``) go to the deliverer's observer
(:mod:`bot.observability.hooks`; none by default).

Delivery is at least once, not exactly once: if the process dies after the provider accepted a
message and before the second transaction commits (a window of one database round trip), the
row's lease expires and the message is sent again. Each accepted send is recorded at once in its
own transaction, and a destination has one message in flight at a time, so a crash sends again
at most one message per destination (at most :attr:`DeliveryPolicy.batch_size` in all, each to
a different phone or chat). Everything else -- a crash before the send, a sweep run twice, two
senders at once -- sends each message once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.delivery import notifications, pay_link, queue
from bot.delivery.channels import SMS, TELEGRAM, Channel, Channels
from bot.delivery.errors import OptedOut, PermanentError, TransientError
from bot.delivery.notifications import Notice
from bot.dialogs.reminder import await_answer
from bot.dialogs.waitlist_offer import await_answer as await_offer_answer
from bot.i18n import negotiate, translator
from bot.observability.hooks import NO_CHANNEL, UNOBSERVED, DeliveryObserver
from bot.pacing import Pacing
from bot.services import (
    accounts,
    delivery,
    invitations,
    outbox,
    payment_links,
    reminders,
    waitlist_offers,
)
from bot.services.clinic import end_of_quiet_hours, get_clinic, in_quiet_hours
from bot.services.staff import all_staff
from bot.storage.models import Appointment, Clinic, OutboxMessage, Staff, WaitlistOffer
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
DESK_ROLES = ("reception", "manager")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a sender claims and retries."""

    batch_size: int = 10
    max_messages: int = 1000
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    first_retry: timedelta = timedelta(minutes=1)
    longest_retry: timedelta = timedelta(hours=1)

    def retry_delay(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait after ``attempts`` failed tries: doubling, capped, at least ``retry_after``."""
        delay = min(self.longest_retry, self.first_retry * int(2 ** max(0, attempts - 1)))
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return delay


@dataclass
class DeliveryCounts:
    """What one pass did."""

    sent: int = 0
    held: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (f"sent {self.sent}, held {self.held}, skipped {self.skipped}, "
                f"retried {self.retried}, failed {self.failed}")

    def result(self) -> str | None:
        """What became of the one row these counts are about (None: nothing, e.g. lost)."""
        moved = [f.name for f in fields(self) if getattr(self, f.name)]
        return moved[0] if moved else None

    def add(self, other: DeliveryCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Send:
    """A claimed row ready to go: where, how, what."""

    claim: queue.Claim
    channel: Channel
    address: str
    notice: Notice
    account_id: int | None = None
    language: str = "en"
    pay_invoice_id: int | None = None  # end the text with a link to pay it (payment links on)
    currency: str = ""


class Deliverer:
    """Delivers the outbox on the given channels; one per process, shared by the scheduler."""

    def __init__(
        self, db: AsyncEngine, clock: Clock, channels: Channels,
        policy: DeliveryPolicy | None = None, observer: DeliveryObserver | None = None,
        *, lease_clock: Clock | None = None, links: payment_links.PaymentLinks | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lease_clock = lease_clock or clock  # what leases are kept in (queue.claim_due)
        self.channels = channels
        self.policy = policy or DeliveryPolicy()
        self.observer = observer or UNOBSERVED
        self.links = links
        self.pacing = pacing  # how long to pause after each batch (bot.pacing)

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, self.clock, readonly=readonly)

    async def run_once(self) -> DeliveryCounts:
        """One pass over what is due now (bounded by ``policy.max_messages``)."""
        counts = DeliveryCounts()
        handled = 0
        steps = None if self.pacing is None else self.pacing.steps()
        while handled < self.policy.max_messages:
            async with self.uow() as uow:
                claims = await queue.claim_due(
                    uow, limit=min(self.policy.batch_size, self.policy.max_messages - handled),
                    lease=self.policy.lease, patients=self.channels.reach_patients,
                    staff=self.channels.reach_staff, lease_now=self.lease_clock.now(),
                    staff_phones=self.channels.reach_staff_phones,
                )
                await uow.commit()
            if not claims:
                break
            handled += len(claims)
            in_order = await self._by_destination(claims)
            # While requests flow, one recipient at a time (bot.pacing's width).
            width = len(in_order) if self.pacing is None else self.pacing.width(len(in_order))
            at_once = asyncio.Semaphore(width)
            done = await asyncio.gather(
                *(self._deliver_in_turn(rows, counts, at_once) for rows in in_order),
                return_exceptions=True,
            )
            for error in done:  # everything in flight was finished and recorded first
                if isinstance(error, BaseException):
                    raise error
            if steps is not None:
                await steps.done()
        return counts

    async def _by_destination(self, claims: list[queue.Claim]) -> list[list[queue.Claim]]:
        """The batch by where each row goes (channel and address, as routed now; a row that
        goes nowhere by itself): a guardian's wards, a merged profile, staff sharing a chat and
        a patient's own messages to one phone or chat are sent one after the other, so a crash
        leaves at most one message per destination in flight (see the module docstring)."""
        groups: dict[Hashable, list[queue.Claim]] = {}
        async with self.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            for claim in claims:
                key: Hashable = claim.recipient
                try:
                    message = await queue.load(uow, claim.message_id)
                    send = None if message is None else (
                        await self._route(uow, clinic, claim, message))[0]
                    key = claim if send is None else (send.channel.name, send.address)
                except Exception:  # e.g. a row that cannot be routed: _deliver says why
                    log.exception("outbox message %d could not be routed", claim.message_id)
                groups.setdefault(key, []).append(claim)
                await asyncio.sleep(0)  # see _deliver_each
        return list(groups.values())

    async def _deliver_in_turn(self, claims: list[queue.Claim], counts: DeliveryCounts,
                               at_once: asyncio.Semaphore) -> None:
        """One recipient's claimed rows, one after the other, in the order they were due (once
        ``at_once`` lets this recipient's turn start)."""
        async with at_once:
            await self._deliver_each(claims, counts)

    async def _deliver_each(self, claims: list[queue.Claim], counts: DeliveryCounts) -> None:
        for claim in claims:
            one = DeliveryCounts()
            channel = await self._deliver(claim, one)
            counts.add(one)
            result = one.result()
            if result is not None:
                self.observer.delivery(channel or NO_CHANNEL, result)
            # Let others run between messages: on SQLite the statements run on the event
            # loop's thread and never yield, and a batch held at night (nothing sent, so no
            # network wait) held it for 50-100 ms.
            await asyncio.sleep(0)

    async def _deliver(self, claim: queue.Claim, counts: DeliveryCounts) -> str | None:
        """Handle one claimed row; the name of the channel it was sent on (or tried), if any."""
        try:
            send = await self._prepare(claim, counts)
        except Exception as exc:
            log.exception("outbox message %d could not be prepared", claim.message_id)
            await self._failed_try(claim, TransientError(type(exc).__name__), counts)
            return None
        if send is None:
            return None
        if send.pay_invoice_id is not None:  # no transaction is open here
            line = await pay_link.reminder_line(self.links, send.pay_invoice_id,
                                                translator(send.language), send.currency)
            if line is not None:
                send.notice = Notice(f"{send.notice.text}\n{line}", send.notice.options)
        try:
            provider_id = await send.channel.send(send.address, send.notice.text,
                                                  send.notice.options)
        except OptedOut:
            await self._opted_out(send, counts)
        except PermanentError as exc:
            await self._give_up(send.claim, str(exc), counts)
        except TransientError as exc:
            await self._failed_try(send.claim, exc, counts)
        except Exception as exc:  # an adapter bug must not stop the queue: retried, bounded
            log.exception("channel %s failed on outbox message %d", send.channel.name,
                          claim.message_id)
            await self._failed_try(send.claim, TransientError(type(exc).__name__), counts)
        else:
            await self._sent(send, provider_id, counts)
        return send.channel.name

    async def _prepare(self, claim: queue.Claim, counts: DeliveryCounts) -> Send | None:
        """Renew the claim and skip, hold, or get the row ready to send (committed)."""
        async with self.uow() as uow:
            renewed = await queue.renew(uow, claim, self.policy.lease, self.lease_clock.now())
            message = await queue.load(uow, claim.message_id) if renewed else None
            if renewed is None or message is None:
                return None
            clinic = await get_clinic(uow)
            reason = await reminders.why_not_send(uow, message)
            send: Send | None = None
            if reason is None:
                send, reason = await self._route(uow, clinic, renewed, message)
            if send is None:
                await queue.settle(uow, renewed, status="skipped", claimed_until=None,
                                   last_error=(reason or "nothing to send")[:300])
                counts.skipped += 1
            elif in_quiet_hours(clinic, uow.clock.now()):
                await queue.settle(uow, renewed, status="pending", claimed_until=None,
                                   not_before=end_of_quiet_hours(clinic, uow.clock.now()))
                counts.held += 1
                send = None
            else:
                notice = await notifications.render(uow, clinic, message,
                                                    translator(send.language))
                if notice is None:
                    await queue.settle(uow, renewed, status="skipped", claimed_until=None,
                                       last_error="what it was about is gone")
                    counts.skipped += 1
                    send = None
                else:
                    send.notice = notice
                    if self.links is not None:
                        send.currency = clinic.currency
                        send.pay_invoice_id = await payment_links.invoice_to_pay(
                            uow, message.kind, message.params or {})
            await uow.commit()
            return send

    async def _route(
        self, uow: UnitOfWork, clinic: Clinic, claim: queue.Claim, message: OutboxMessage
    ) -> tuple[Send | None, str | None]:
        """Where the row goes, or why it cannot go anywhere."""
        blank = Notice("")
        if message.kind == invitations.INVITATION_SMS:  # to the invitee's phone (issue 18)
            phone, why = await invitations.sms_destination(uow, message)
            sms = self.channels.get(SMS)
            if phone is None or sms is None:
                return None, why or "SMS is off"
            return Send(claim, sms, phone, blank, language=negotiate([], clinic.locale)), None
        if message.staff_id is not None:
            # Their Telegram chat (with buttons) when there is one, else their phone by SMS.
            staff = await uow.session.get(Staff, message.staff_id)
            telegram, sms = self.channels.get(TELEGRAM), self.channels.get(SMS)
            language = negotiate([], clinic.locale)
            if staff is not None and staff.telegram_chat_id is not None and telegram is not None:
                return Send(claim, telegram, str(staff.telegram_chat_id), blank,
                            language=language), None
            if staff is not None and staff.phone and sms is not None:
                return Send(claim, sms, staff.phone, blank, language=language), None
            return None, "the staff member has no Telegram chat"
        if message.patient_id is None:
            return None, "the message has no recipient"
        recipient = await reminders.recipient_for(uow, message.patient_id)
        if recipient is None:
            return None, "the patient opted out or cannot be reached"
        language = negotiate([recipient.locale], clinic.locale)
        telegram, sms = self.channels.get(TELEGRAM), self.channels.get(SMS)
        if recipient.telegram_user_id is not None and telegram is not None:
            return Send(claim, telegram, str(recipient.telegram_user_id), blank, recipient.id,
                        language), None
        if recipient.phone and sms is not None:
            return Send(claim, sms, recipient.phone, blank, recipient.id, language), None
        return None, "no configured channel reaches the patient"

    async def _sent(self, send: Send, provider_id: str, counts: DeliveryCounts) -> None:
        async with self.uow() as uow:
            now = uow.clock.now()
            recorded = await queue.settle(
                uow, send.claim, status="sent", claimed_until=None, channel=send.channel.name,
                provider_message_id=provider_id[:100], sent_at=now, body=send.notice.text,
                last_error=None,
            )
            if not recorded:
                log.warning("outbox message %d was sent but another sender had taken it over",
                            send.claim.message_id)
                return
            message = await queue.load(uow, send.claim.message_id)
            late = (now - message.not_before).total_seconds() if message is not None else None
            if (message is not None and message.kind == reminders.APPOINTMENT_REMINDER
                    and send.account_id is not None):
                appointment = await uow.session.get(
                    Appointment, int(str(message.params.get("appointment_id"))))
                if appointment is not None:
                    await await_answer(
                        uow, channel=send.channel.name, address=send.address,
                        account_id=send.account_id, appointment=appointment,
                        t=translator(send.language), now=now,
                    )
            if (message is not None and message.kind == waitlist_offers.OFFER
                    and send.account_id is not None):
                await self._await_offer_answer(uow, send, message, now)
            await uow.commit()
        counts.sent += 1
        if late is not None:
            self.observer.delivery_latency(send.channel.name, late)

    async def _await_offer_answer(
        self, uow: UnitOfWork, send: Send, message: OutboxMessage, now: datetime
    ) -> None:
        """A waitlist offer went out: its chat waits for the answer (1 book, 2 pass)."""
        offer = await uow.session.get(WaitlistOffer, int(str(message.params.get("offer_id"))))
        if offer is not None and send.account_id is not None:
            await await_offer_answer(
                uow, channel=send.channel.name, address=send.address,
                account_id=send.account_id, offer=offer, t=translator(send.language), now=now,
            )

    async def _failed_try(
        self, claim: queue.Claim, error: TransientError, counts: DeliveryCounts
    ) -> None:
        async with self.uow() as uow:
            message = await queue.load(uow, claim.message_id)
            if message is None:
                return
            attempts = message.attempts + 1
            if attempts >= self.policy.max_attempts:
                await self._fail(uow, claim, message, f"gave up after {attempts} attempts: {error}",
                                 attempts, counts)
            else:
                wait = self.policy.retry_delay(attempts, error.retry_after)
                if await queue.settle(uow, claim, status="pending", claimed_until=None,
                                      attempts=attempts, last_error=str(error)[:300],
                                      not_before=uow.clock.now() + wait):
                    counts.retried += 1
            await uow.commit()

    async def _give_up(self, claim: queue.Claim, reason: str, counts: DeliveryCounts) -> None:
        async with self.uow() as uow:
            message = await queue.load(uow, claim.message_id)
            if message is not None:
                await self._fail(uow, claim, message, reason, message.attempts + 1, counts)
            await uow.commit()

    async def _fail(
        self, uow: UnitOfWork, claim: queue.Claim, message: OutboxMessage, reason: str,
        attempts: int, counts: DeliveryCounts,
    ) -> None:
        """Mark the row failed and tell the desk (patients' messages only; ids only)."""
        if not await queue.settle(uow, claim, status="failed", claimed_until=None,
                                  attempts=attempts, last_error=reason[:300]):
            return
        counts.failed += 1
        log.warning("outbox message %d failed: %s", message.id, reason)
        if message.patient_id is None:
            return
        staff = await all_staff(uow)
        told = [s for s in staff if "delivery_failed" in (s.alerts or [])] or [
            s for s in staff if s.role in DESK_ROLES
        ]
        for member in told:
            await outbox.enqueue(
                uow, purpose=f"outbox:{message.id}:failed:staff:{member.id}",
                kind="delivery_failed", staff_id=member.id,
                params={"outbox_id": message.id, "patient_id": message.patient_id,
                        "purpose": message.purpose},
            )

    async def _opted_out(self, send: Send, counts: DeliveryCounts) -> None:
        async with self.uow() as uow:
            if await queue.settle(uow, send.claim, status="skipped", claimed_until=None,
                                  last_error="the recipient unsubscribed at the provider"):
                counts.skipped += 1
                if send.channel.name == SMS and send.account_id is not None:
                    # A patient's phone (a staff phone that unsubscribed opts nobody out).
                    await delivery.opt_out_phone(uow, send.address)
                elif send.account_id is not None:
                    await accounts.opt_out(uow, send.account_id)
            await uow.commit()
