"""Choosing the language the bot speaks (each language is listed in its own name)."""

from __future__ import annotations

from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.i18n import SHIPPED, language_name, translator
from bot.services import accounts


class Language(Dialog):
    """Sets the patient's locale; everything after speaks it."""

    name = "language"
    first_step = "choose"

    async def ask_choose(self, ctx: DialogContext) -> Reply:
        options = tuple(Option(code, language_name(code)) for code in SHIPPED)
        return Reply(ctx._("Which language would you like?"), options)

    async def on_choose(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key not in SHIPPED:
            return Retry(ctx._("Please answer with the number of a language."))
        code = answer.key
        region = ctx.clinic.locale.split("_")[1] if "_" in ctx.clinic.locale else None
        locale = f"{code}_{region}" if region and code == ctx.clinic.locale.split("_")[0] else code
        if ctx.account is not None:
            await accounts.set_locale(ctx.uow, ctx.account.id, locale)
        else:
            ctx.conversation.state["locale"] = locale
        ctx.t = translator(locale)
        name = language_name(code, title=False)  # mid-sentence: "en español"
        return Finish([ctx._("I will speak {language} from now on.", language=name)])
