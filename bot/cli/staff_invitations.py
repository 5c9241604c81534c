"""Desk commands for inviting a family member to manage a patient (issue 18; RULES.md 17).

``invite PATIENT`` creates an invitation and prints its one-time code and Telegram link (the
code is shown only here and at a resend: only its hash is kept); ``--sms PHONE`` also texts it
to the invitee. ``invitations PATIENT`` lists them with their state, ``invite-resend`` issues a
new code and expiry for the same invitation, ``invite-revoke`` withdraws it. The rules are
:mod:`bot.services.invitations`'; each action is audited.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from bot.cli.common import Context, run
from bot.cli.staff_common import ID, acting_desk, echo, local_text, who_text
from bot.handlers.telegram_link import bot_username, deep_link
from bot.services import invitations
from bot.services.clinic import get_clinic, zone
from bot.services.lookup import find_patient
from bot.settings import Settings

DAYS = click.IntRange(1, invitations.MAX_DAYS)


async def _code_lines(settings: Settings, issued: invitations.Issued, until: str) -> list[str]:
    """The code, the link (or why there is none) and the SMS, after the commit."""
    lines = [f"Code: {issued.code} (valid until {until}; shown only now)"]
    if settings.telegram_bot_token is None:
        lines.append("Telegram is off (no TELEGRAM_BOT_TOKEN): no link; the invitee texts "
                     "the code to the clinic's SMS number.")
    else:
        username = await bot_username(settings)
        if username is None:
            lines.append("Telegram did not answer, so there is no link now; the invitee can "
                         "send the code to the bot in Telegram or by SMS.")
        else:
            lines.append(f"Telegram link: {deep_link(username, issued.code)}")
    if issued.sms_queued:
        lines.append("The invitation is queued to go by SMS (not during quiet hours).")
    return lines


@click.command("invite")
@click.argument("patient")
@click.option("--sms", "phone", metavar="PHONE", help="Also text the invitation to this phone.")
@click.option("--days", type=DAYS, default=invitations.DEFAULT_DAYS, show_default=True,
              help="How many days the code stays valid.")
def invite(patient: str, phone: str | None, days: int) -> None:
    """Invite a family member to manage PATIENT (id, key or +phone): prints the code and the
    Telegram link.

    Whoever sends the code (an SMS to the clinic, or the link in Telegram) becomes a guardian
    of PATIENT once they are registered. The code works once and expires.

    \b
    Example:
      clinicbot staff invite leo --sms +14165550199
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            ward = await find_patient(uow, patient)
            issued = await invitations.create(uow, ward.id, actor=actor, sms_phone=phone,
                                              days=days)
            head = f"Invitation {issued.invitation_id} to manage {who_text(ward)}."
            until = local_text(issued.expires_at, zone(await get_clinic(uow)))
            await uow.commit()
        return [head, *await _code_lines(ctx.settings, issued, until)]

    echo(run(work))


@click.command("invitations")
@click.argument("patient")
def invitations_list(patient: str) -> None:
    """List PATIENT's invitations: open, accepted (by whom), expired or revoked.

    \b
    Example:
      clinicbot staff invitations leo
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            ward = await find_patient(uow, patient)
            tz = zone(await get_clinic(uow))
            found = await invitations.invitations_of(uow, ward.id)
            lines = [f"Invitations to manage {who_text(ward)}:"] if found else [
                f"No invitations to manage {who_text(ward)}."]
            for item in found:
                lines.append(f"Invitation {item.id}: {_state(item, tz)}; "
                             f"created {local_text(item.created_at, tz)} by {item.created_by}")
        return lines

    echo(run(work))


def _state(item: invitations.InvitationView, tz: ZoneInfo) -> str:
    if item.status == "accepted":
        return f"accepted by patient {item.accepted_by_id} ({item.accepted_by})"
    if item.status == "revoked":
        return "revoked"
    if item.status == "expired":
        return f"expired {local_text(item.expires_at, tz)}"
    return f"open until {local_text(item.expires_at, tz)}"


@click.command("invite-resend")
@click.argument("invitation", type=ID, metavar="INVITATION")
@click.option("--sms", "phone", metavar="PHONE", help="Also text the new code to this phone.")
@click.option("--days", type=DAYS, default=invitations.DEFAULT_DAYS, show_default=True,
              help="How many days the new code stays valid.")
def invite_resend(invitation: int, phone: str | None, days: int) -> None:
    """Give INVITATION a new code and expiry (the old code stops working); prints them.

    \b
    Example:
      clinicbot staff invite-resend 3 --sms +14165550199
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            issued = await invitations.resend(uow, invitation, actor=actor, sms_phone=phone,
                                              days=days)
            until = local_text(issued.expires_at, zone(await get_clinic(uow)))
            await uow.commit()
        head = f"Invitation {invitation} has a new code; the old one no longer works."
        return [head, *await _code_lines(ctx.settings, issued, until)]

    echo(run(work))


@click.command("invite-revoke")
@click.argument("invitation", type=ID, metavar="INVITATION")
def invite_revoke(invitation: int) -> None:
    """Withdraw INVITATION: its code no longer works.

    \b
    Example:
      clinicbot staff invite-revoke 3
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            await invitations.revoke(uow, invitation, actor=actor)
            await uow.commit()
        return f"Invitation {invitation} is revoked; its code no longer works."

    click.echo(run(work))


COMMANDS = [invite, invitations_list, invite_resend, invite_revoke]
