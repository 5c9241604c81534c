"""The main menu, and "who is this for?" when the account manages family members (RULES.md 17)."""

from __future__ import annotations

from bot.dialogs.base import Answer, Dialog, DialogContext, Goto, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import accounts
from bot.storage.models import Patient

PER_PERSON = ("book", "packages", "appointments", "buy", "memberships")


def menu_options(ctx: DialogContext) -> tuple[Option, ...]:
    _ = ctx._
    return (
        Option("book", _("Book an appointment")),
        Option("packages", _("My packages")),
        Option("appointments", _("My appointments")),
        Option("buy", _("Buy a package")),
        Option("memberships", _("Memberships and invoices")),
        Option("language", _("Language")),
        Option("talk", _("Talk to the clinic")),
    )


class Menu(Dialog):
    """What the patient can do; the entry point of every conversation."""

    name = "menu"
    first_step = "start"

    def __init__(self, first_steps: dict[str, str]) -> None:
        self.first_steps = first_steps

    async def ask_start(self, ctx: DialogContext) -> Reply:
        assert ctx.account is not None
        text = ctx._("Hi {name}! What would you like to do?", name=ctx.account.first_name)
        if ctx.account.opted_out:
            off = ctx._("Reminders and invoices are off. Send START to turn them on.")
            text = f"{off}\n{text}"
        return Reply(text, tuple(o for o in menu_options(ctx) if o.key in self.first_steps))

    async def on_start(self, ctx: DialogContext, answer: Answer) -> Result:
        assert ctx.account is not None
        key = answer.key
        if key is None or key not in self.first_steps:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        ctx.conversation.state["for"] = ctx.account.id
        if key in PER_PERSON and len(await accounts.acting_for(ctx.uow, ctx.account.id)) > 1:
            ctx.data["target"] = key
            return Goto("who")
        return Goto(self.first_steps[key], dialog=key)

    async def ask_who(self, ctx: DialogContext) -> Reply:
        assert ctx.account is not None
        people = await accounts.acting_for(ctx.uow, ctx.account.id)
        options = tuple(
            Option(f"p{person.id}", _person_label(ctx, person.id == ctx.account.id, person))
            for person in people
        )
        return Reply(ctx._("Who is this for?"), options)

    async def on_who(self, ctx: DialogContext, answer: Answer) -> Result:
        assert ctx.account is not None
        if answer.key is None or not answer.key.startswith("p"):
            return Retry(ctx._("Please answer with the number of one of the people listed."))
        target = await accounts.require_may_act(ctx.uow, ctx.account.id, int(answer.key[1:]))
        ctx.conversation.state["for"] = target.id
        dialog = str(ctx.data["target"])
        return Goto(self.first_steps[dialog], dialog=dialog)


    def help(self, ctx: DialogContext, step: str) -> str:
        """At the menu, HELP also says how to ask for one's data or to be forgotten."""
        text = super().help(ctx, step)
        if step != self.first_step:
            return text
        return f"{text} " + ctx._("For a copy of your data, or to have it deleted, send MY DATA "
                                  "or DELETE MY DATA.")


def _person_label(ctx: DialogContext, is_self: bool, person: Patient) -> str:
    name = f"{person.first_name} {person.last_name}"
    return ctx._("{name} (me)", name=name) if is_self else name
