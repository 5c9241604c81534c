"""Asking the clinic for a copy of one's data, or to be forgotten (issue 21).

Reached by a request typed in one message ("send me my data", "delete my data", "forget me":
:mod:`bot.dialogs.understand_data`, read by :mod:`bot.dialogs.understood`), for the account
itself or a family member it manages (named in the request, else asked "who is this for?").
The one step confirms, then :func:`bot.services.data_requests.ask` makes it a staff task;
nothing is sent or erased from the chat: the clinic contacts the patient to check who asked.
"""

from __future__ import annotations

from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import data_requests
from bot.storage.models import Patient

WHAT_KEY = "data_request"


class DataRequest(Dialog):
    """Confirms a request about the subject's data and passes it to the desk."""

    name = "data_request"
    first_step = "confirm"

    async def _name(self, ctx: DialogContext) -> str | None:
        """The ward's first name when the request is for a ward (None: for the account)."""
        assert ctx.account is not None
        if ctx.subject_id == ctx.account.id:
            return None
        ward = await ctx.uow.session.get(Patient, ctx.subject_id)
        return ward.first_name if ward is not None else None

    async def ask_confirm(self, ctx: DialogContext) -> Reply:
        ward = await self._name(ctx)
        erase = ctx.data.get(WHAT_KEY) == data_requests.ERASE
        if erase and ward:
            text = ctx._("Ask the clinic to delete the personal data it holds about {name}?",
                         name=ward)
        elif erase:
            text = ctx._("Ask the clinic to delete the personal data it holds about you?")
        elif ward:
            text = ctx._("Ask the clinic for a copy of the data it holds about {name}?",
                         name=ward)
        else:
            text = ctx._("Ask the clinic for a copy of the data it holds about you?")
        note = ctx._("The clinic will contact you to check it is you before anything is sent "
                     "or deleted.")
        options = (Option("yes", ctx._("Yes, ask the clinic")), Option("no", ctx._("No")))
        return Reply(f"{text} {note}", options)

    async def on_confirm(self, ctx: DialogContext, answer: Answer) -> Result:
        assert ctx.account is not None
        if answer.key == "no":
            return Finish([ctx._("Nothing was asked.")])
        if answer.key != "yes":
            return Retry(ctx._("Please answer with the number of one of the choices."))
        what = ctx.data.get(WHAT_KEY)
        new = await data_requests.ask(
            ctx.uow, patient_id=ctx.subject_id, requested_by=ctx.account.id,
            what=what if what in data_requests.WHAT else data_requests.COPY,
            channel=ctx.channel)
        if not new:
            return Finish([ctx._("You asked the clinic for this today already; they will "
                                 "contact you.")])
        return Finish([ctx._("Your request was passed to the clinic. They will contact you "
                             "to check it is you, then answer it.")])

    def help(self, ctx: DialogContext, step: str) -> str:
        del step
        return ctx._("Answer 1 to pass the request to the clinic, or 2 to leave it. "
                     "MENU: main menu.")
