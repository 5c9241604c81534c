"""Desk commands for who may act: staff chats and family links (RULES.md 8, 17).

``revoke-chat`` takes a staff member's Telegram chat off (it can no longer press staff buttons
or use ``/today``); ``add-guardian`` and ``remove-guardian`` let one patient's account act for
another, or stop it. Links added here are the desk's: a reload of the set-up file never revokes
them. See :mod:`bot.services.access` for who may take back what.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from bot.cli.common import Context, run
from bot.cli.staff_common import acting_desk, echo, who_text
from bot.services import access
from bot.services.errors import NotFound
from bot.services.lookup import find_patient
from bot.storage.models import Staff
from bot.storage.models.people import GUARDIAN_FROM_FILE


@click.command("revoke-chat")
@click.argument("staff_key", metavar="STAFF_KEY")
def revoke_chat(staff_key: str) -> None:
    """Take STAFF_KEY's Telegram chat off: it gets no alerts and can no longer act as staff.

    The staff member can register a chat again with /staff CODE (change CLINICBOT_STAFF_CODE
    if the code may be known to someone who should not have it).

    \b
    Example:
      clinicbot staff revoke-chat ana
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            member = await uow.session.scalar(select(Staff).where(Staff.key == staff_key))
            if member is None:
                raise NotFound(f"there is no staff member {staff_key!r}")
            from_file = member.chat_from_file
            chat = await access.revoke_staff_chat(uow, member, actor=actor)
            await uow.commit()
        if chat is None:
            return [f"Staff member {staff_key!r} has no Telegram chat; nothing was changed."]
        lines = [f"Telegram chat {chat} is no longer the staff chat of {staff_key!r}."]
        if from_file:
            lines.append("The set-up file gives this chat: remove its telegram_chat_id there too, "
                         "or the next 'clinicbot load' gives it back.")
        return lines

    echo(run(work))


@click.command("add-guardian")
@click.argument("guardian")
@click.argument("ward")
def add_guardian(guardian: str, ward: str) -> None:
    """Let GUARDIAN's account book, cancel and view for WARD (ids, keys or +phones).

    \b
    Example:
      clinicbot staff add-guardian maya leo
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            guardian_id = (await find_patient(uow, guardian)).id
            ward_id = (await find_patient(uow, ward)).id
            kept, managed = await access.add_guardian(uow, guardian_id, ward_id, actor=actor)
            line = f"{who_text(kept)} now manages {who_text(managed)}."
            await uow.commit()
            return line

    click.echo(run(work))


@click.command("remove-guardian")
@click.argument("guardian")
@click.argument("ward")
def remove_guardian(guardian: str, ward: str) -> None:
    """Stop GUARDIAN's account acting for WARD (ids, keys or +phones).

    \b
    Example:
      clinicbot staff remove-guardian maya leo
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            found, managed = await find_patient(uow, guardian), await find_patient(uow, ward)
            lines = [f"{who_text(found)} no longer manages {who_text(managed)}."]
            source = await access.remove_guardian(uow, found.id, managed.id, actor=actor)
            await uow.commit()
        if source == GUARDIAN_FROM_FILE:
            lines.append("The set-up file lists this guardian: remove it from the ward's "
                         "guardians there too, or the next 'clinicbot load' adds it back.")
        return lines

    echo(run(work))


COMMANDS = [revoke_chat, add_guardian, remove_guardian]
