"""An invitation code sent in chat (issue 18): checked, throttled, and accepted for the sender.

The engine hands any message shaped like a code (:func:`bot.services.invitation_codes.read_code`:
an SMS text, or Telegram's ``/start CODE`` deep link) to :func:`take_code`, from any sender at
any step. A known patient accepts at once; an unknown sender is told to register first (on
Telegram: share their phone) and the code's *hash* waits in the conversation's state
(:data:`PENDING`) until the turn in which they become a patient, when :func:`apply_pending`
accepts it. Every code checked counts on the chat's guard; a locked-out chat's code is not
checked at all.
"""

from __future__ import annotations

from bot.dialogs.base import DialogContext
from bot.services import invitation_codes, invitations

PENDING = "invitation"


async def take_code(ctx: DialogContext, code: str) -> str:
    """Check ``code`` sent in this conversation; what to tell the sender."""
    conversation = ctx.conversation
    gate = await invitation_codes.gate(ctx.uow, conversation.channel, conversation.address)
    if not gate.open:
        return ctx._("Too many wrong codes were sent. Please try again in an hour, or "
                     "contact the clinic.")
    hashed = invitation_codes.digest(code)
    invitation = await invitations.find(ctx.uow, hashed)
    why = invitations.dead(invitation, ctx.now)
    if why is not None or invitation is None:
        if await invitation_codes.count(ctx.uow, gate, correct=False):
            return ctx._("Too many wrong codes were sent. Please try again in an hour, or "
                         "contact the clinic.")
        return outcome_text(ctx, invitations.Acceptance(why or invitations.UNKNOWN))
    await invitation_codes.count(ctx.uow, gate, correct=True)
    if ctx.account is None:
        conversation.state[PENDING] = hashed
        return ctx._("Thank you! First we need to know who you are; then your invitation "
                     "is accepted.")
    accepted = await invitations.accept(ctx.uow, hashed, ctx.account.id)
    return outcome_text(ctx, accepted)


async def apply_pending(ctx: DialogContext) -> str | None:
    """Accept the code waiting in the conversation, now that the sender is a patient (None:
    nothing waits, or the sender is still unknown)."""
    if ctx.account is None or PENDING not in ctx.conversation.state:
        return None
    hashed = str(ctx.conversation.state.pop(PENDING))
    return outcome_text(ctx, await invitations.accept(ctx.uow, hashed, ctx.account.id))


def outcome_text(ctx: DialogContext, acceptance: invitations.Acceptance) -> str:
    """What the sender reads about their code."""
    name = acceptance.first_name or ""
    texts = {
        invitations.ACCEPTED_NOW: ctx._("You can now book and view for {name}.", name=name),
        invitations.ALREADY: ctx._(
            "You can already book and view for {name}; nothing changed.", name=name),
        invitations.SELF: ctx._(
            "This invitation is to manage your own file, so it cannot be accepted by you. "
            "It stays open for the family member it was meant for."),
        invitations.USED: ctx._("That invitation code was already used."),
        invitations.WITHDRAWN: ctx._("That invitation was withdrawn by the clinic."),
        invitations.LAPSED: ctx._(
            "That invitation has expired. Please ask the clinic for a new one."),
    }
    return texts.get(acceptance.outcome) or ctx._(
        "That code is not valid. Please check it and try again.")
