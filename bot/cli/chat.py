"""``clinicbot chat`` and ``clinicbot demo``: the patient dialogs in the terminal."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

import click
from sqlalchemy.engine import make_url

from bot.cli.common import Context, fail, run
from bot.demo import DEMO_CLINIC_NAME, DEMO_PHONE, DEMO_TIMEZONE, demo_clinic_toml
from bot.services.clinic import get_clinic
from bot.services.errors import NotFound
from bot.services.identity import clinic_region, normalise_phone

# The dialog engine, the set-up file reader and their libraries load only when a chat starts,
# so that every other ``clinicbot`` command starts fast.

INTRO = """\
{clinic}: you are chatting as {who} ({phone}).
Answer with a number or words from a choice. MENU, BACK and HELP work at every step.
End the chat with Ctrl-D.
"""


@click.command("chat")
@click.option("--phone", required=True, help="The patient's phone, e.g. +14165550101.")
def chat_command(phone: str) -> None:
    """Talk to the bot in the terminal as the patient with that phone (as by SMS).

    Reads one message per line, also from a pipe:  printf '1\\n' | clinicbot chat --phone +1...
    """

    async def work(ctx: Context) -> None:
        from bot.app import build_engine
        from bot.handlers.terminal import run_chat

        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            e164 = normalise_phone(phone, clinic_region(clinic.phone, clinic.locale))
        engine = build_engine(ctx.settings, ctx.engine, ctx.clock)
        await run_chat(engine, e164, sys.stdin, sys.stdout)

    run(work)


@click.command("demo")
def demo_command() -> None:
    """Load a demo clinic into the default database and chat with it as a demo patient.

    The demo patient has a package with uses left, a family member and an unpaid membership
    invoice. Uses DATABASE_URL (default sqlite:///clinicbot.db); a database that already holds
    another clinic is left alone.
    """

    async def work(ctx: Context) -> None:
        from bot.app import build_engine
        from bot.clinicfile import parse_clinic_text
        from bot.handlers.terminal import run_chat
        from bot.services.setup import load_clinic

        async with ctx.uow() as uow:
            try:
                existing = await get_clinic(uow)
            except NotFound:
                existing = None
            if existing is not None and existing.name != DEMO_CLINIC_NAME:
                where = make_url(ctx.settings.database_url).render_as_string(hide_password=True)
                fail(
                    f"the database {where} already holds the clinic {existing.name!r}; "
                    "set DATABASE_URL to another database (e.g. sqlite:///demo.db) for the demo"
                )
            if existing is None:
                today = ctx.clock.now().astimezone(ZoneInfo(DEMO_TIMEZONE)).date()
                await load_clinic(uow, parse_clinic_text(demo_clinic_toml(today), "demo clinic"))
                await uow.commit()
            name = existing.name if existing is not None else DEMO_CLINIC_NAME
        click.echo(INTRO.format(clinic=name, who="Maya Chen", phone=DEMO_PHONE))
        await run_chat(
            build_engine(ctx.settings, ctx.engine, ctx.clock), DEMO_PHONE, sys.stdin, sys.stdout
        )

    run(work)


def register(cli: click.Group) -> None:
    cli.add_command(chat_command)
    cli.add_command(demo_command)
