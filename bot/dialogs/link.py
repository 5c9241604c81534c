"""Linking a Telegram account to a patient by the phone its own user shares (RULES.md 18, 19).

An unknown Telegram account is asked to share its phone with a contact button. The Telegram
handler passes a contact only when it belongs to the sender (``Inbound.phone``); identity then
links the account to the patient with that phone, or the phone is kept for the registration
that follows. Typed text never counts as a phone.
"""

from __future__ import annotations

from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.types import Reply


class Link(Dialog):
    """Asks for the user's own phone, then links (known phone) or registers (new phone)."""

    name = "link"
    first_step = "contact"
    needs_patient = False

    async def ask_contact(self, ctx: DialogContext) -> Reply:
        text = ctx._(
            "Welcome to {clinic}! To find your file, please share your phone number with the "
            "button below.",
            clinic=ctx.clinic.name,
        )
        return Reply(text, request_contact=True)

    async def on_contact(self, ctx: DialogContext, answer: Answer) -> Result:
        del answer
        if ctx.account is not None:
            return Finish([ctx._("Thank you, {name}! Your Telegram is now linked to your file.",
                                 name=ctx.account.first_name)])
        if ctx.conversation.state.get("phone"):
            return Goto("first_name", dialog="register")
        return Retry(ctx._("Please press the button to share your phone number."))

    def help(self, ctx: DialogContext, step: str) -> str:
        del step
        return ctx._("Press the button below to share your phone number, so we can find your file.")
