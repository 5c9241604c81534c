"""What the messaging providers tell us about proactive messages (RULES.md 14, DESIGN.md outbox).

* :func:`record_sent`: the provider accepted an outbox message; its id is kept so the delivery
  reports that follow can find the row.
* :func:`record_delivery_status`: a delivery report (e.g. Twilio's status callback). Reports may
  arrive out of order; a later stage is never overwritten by an earlier one.
* :func:`opt_out_phone`: the provider says the owner of a phone unsubscribed (Twilio error
  21610); every profile with that phone stops getting proactive messages, as after STOP.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from bot.services import accounts
from bot.storage.models import Conversation, OutboxMessage
from bot.storage.uow import UnitOfWork

# How far along a message is; a report never moves a message back to an earlier stage.
STAGES = {
    "accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
    "delivered": 3, "undelivered": 3, "failed": 3, "canceled": 3, "read": 4,
}
FINAL_FAILURES = frozenset({"undelivered", "failed"})


async def record_sent(
    uow: UnitOfWork, message_id: int, *, channel: str, provider_message_id: str
) -> OutboxMessage | None:
    """Mark outbox message ``message_id`` sent on ``channel`` with the provider's id."""
    message = await uow.session.get(OutboxMessage, message_id)
    if message is None:
        return None
    message.status = "sent"
    message.channel = channel
    message.provider_message_id = provider_message_id
    message.sent_at = uow.clock.now()
    await uow.session.flush()
    return message


async def record_delivery_status(
    uow: UnitOfWork, provider_message_id: str, status: str, error_code: str | None = None
) -> OutboxMessage | None:
    """Record a delivery report for the message the provider knows as ``provider_message_id``.

    Returns the outbox row, or None when no row has that id (a message we did not send through
    the outbox, or a forged id): nothing changes then.
    """
    message = await uow.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.provider_message_id == provider_message_id)
        .with_for_update()
    )
    if message is None:
        return None
    current = STAGES.get(message.delivery_status or "", -1)
    if STAGES.get(status, current) >= current:
        message.delivery_status = status
    if status in FINAL_FAILURES and error_code:
        message.last_error = f"delivery failed: provider error {error_code}"[:300]
    await uow.session.flush()
    return message


async def opt_out_phone(uow: UnitOfWork, phone_e164: str, channel: str = "sms") -> list[int]:
    """Opt out every profile with this phone, and the chat at that address; their ids."""
    patients = await accounts.find_by_phone(uow, phone_e164)
    for patient in patients:
        await accounts.opt_out(uow, patient.id)
    conversation = await uow.session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.address == phone_e164
        )
    )
    if conversation is not None:
        conversation.state = {**(conversation.state or {}), "opted_out": True}
        flag_modified(conversation, "state")
        await uow.session.flush()
    return [patient.id for patient in patients]
