"""Registration for a phone or Telegram account that matches no patient (RULES.md 18).

First name, last name, birth date (read back for confirmation), then an online registration is
created with the phone the channel proved; staff are alerted when it looks like a duplicate.
"""

from __future__ import annotations

from datetime import date, datetime

import dateparser

from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import accounts
from bot.services.errors import InvalidInput
from bot.services.identity import check_birth_date, clean_name

YES, NO = "yes", "no"


def yes_no(ctx: DialogContext) -> tuple[Option, ...]:
    return (Option(YES, ctx._("Yes")), Option(NO, ctx._("No")))


def parse_birth_date(text: str, language: str) -> date | None:
    """A date of birth typed in words or numbers; ISO ``YYYY-MM-DD`` always works."""
    text = text.strip()[:40]
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parsed: datetime | None = dateparser.parse(
        text,
        languages=[language, "en"],
        settings={"PREFER_DATES_FROM": "past", "REQUIRE_PARTS": ["day", "month", "year"]},
    )
    return parsed.date() if parsed else None


class Register(Dialog):
    """Asks who a new patient is and creates their online registration."""

    name = "register"
    first_step = "first_name"
    needs_patient = False

    async def ask_first_name(self, ctx: DialogContext) -> Reply:
        return Reply(
            ctx._(
                "Welcome to {clinic}! We don't know this number yet. What is your first name?",
                clinic=ctx.clinic.name,
            )
        )

    async def on_first_name(self, ctx: DialogContext, answer: Answer) -> Result:
        try:
            ctx.data["first_name"] = clean_name(answer.text, "first name")
        except InvalidInput:
            return Retry(ctx._("Please type your first name (letters only)."))
        return Goto("last_name")

    async def ask_last_name(self, ctx: DialogContext) -> Reply:
        return Reply(ctx._("And your last name?"))

    async def on_last_name(self, ctx: DialogContext, answer: Answer) -> Result:
        try:
            ctx.data["last_name"] = clean_name(answer.text, "last name")
        except InvalidInput:
            return Retry(ctx._("Please type your last name (letters only)."))
        return Goto("birth_date")

    async def ask_birth_date(self, ctx: DialogContext) -> Reply:
        return Reply(ctx._("What is your date of birth? For example: 1988-04-02"))

    async def on_birth_date(self, ctx: DialogContext, answer: Answer) -> Result:
        born = parse_birth_date(answer.text, ctx.t.language)
        if born is None:
            return Retry(
                ctx._("Sorry, I could not read that date. Please type it like 1988-04-02.")
            )
        try:
            check_birth_date(born, ctx.now.astimezone(ctx.zone).date())
        except InvalidInput:
            return Retry(
                ctx._("That date of birth does not look right. Please type it like 1988-04-02.")
            )
        ctx.data["birth_date"] = born.isoformat()
        return Goto("confirm")

    async def ask_confirm(self, ctx: DialogContext) -> Reply:
        born = date.fromisoformat(str(ctx.data["birth_date"]))
        text = ctx._(
            "{first} {last}, born {born}. Is that right?",
            first=ctx.data["first_name"], last=ctx.data["last_name"],
            born=ctx.t.date_text(born, "long"),
        )
        return Reply(text, yes_no(ctx))

    async def on_confirm(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == NO:
            return Goto("first_name", say=[ctx._("Let's start again.")])
        if answer.key != YES:
            return Retry(ctx._("Please answer 1 for yes or 2 for no."))
        state = ctx.conversation.state
        patient = await accounts.register_online(
            ctx.uow,
            first_name=str(ctx.data["first_name"]),
            last_name=str(ctx.data["last_name"]),
            birth_date=date.fromisoformat(str(ctx.data["birth_date"])),
            phone=state.get("phone"),
            telegram_user_id=state.get("telegram_user_id"),
            locale=ctx.t.locale if state.get("locale") else None,
        )
        ctx.conversation.patient_id = patient.id
        ctx.account = patient
        return Finish([ctx._("Thank you, {name}! You are registered.", name=patient.first_name)])
