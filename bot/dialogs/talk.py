"""Talk to the clinic: the patient's message is queued for the front desk's chat."""

from __future__ import annotations

from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Result, Retry
from bot.dialogs.types import Reply
from bot.services import messages


class Talk(Dialog):
    """Takes one free-text message and passes it to the clinic's staff."""

    name = "talk"
    first_step = "message"

    async def ask_message(self, ctx: DialogContext) -> Reply:
        return Reply(ctx._("Type your message for the clinic and we will pass it on."))

    async def on_message(self, ctx: DialogContext, answer: Answer) -> Result:
        text = answer.text.strip()
        if not text:
            return Retry(ctx._("Please type a message for the clinic."))
        if len(text) > messages.MAX_MESSAGE_CHARS:
            return Retry(
                ctx._("That message is too long; please keep it under {count} characters.",
                      count=messages.MAX_MESSAGE_CHARS)
            )
        await messages.pass_to_clinic(
            ctx.uow,
            patient_id=ctx.subject_id,
            text=text,
            channel=ctx.channel,
            about=ctx.data.get("about"),
        )
        return Finish([ctx._("Thank you. Your message was passed to the clinic; "
                             "they will reply to you here.")])
