"""``clinicbot staff password KEY``: set a staff member's console (``/desk/``) password.

On a terminal the password is asked twice, hidden; otherwise one line is read from standard
input (``printf '%s\\n' "$PASSWORD" | clinicbot staff password desk``). Only its argon2 hash is
stored (:func:`bot.services.desk_auth.set_password`); it is never printed or logged, and the
staff member's open console sessions end. The audit log records who set it (``--as``), as
``staff.password``.
"""

from __future__ import annotations

import sys

import click

from bot.cli.common import Context, fail, run
from bot.cli.staff_common import acting_desk, echo
from bot.services import desk_auth
from bot.services.errors import InvalidInput
from bot.services.lookup import find_staff


def _read_password() -> str:
    if sys.stdin.isatty():
        entered: str = click.prompt("New password", hide_input=True,
                                    confirmation_prompt="Repeat it")
        return entered
    line: str = sys.stdin.readline()
    if not line:
        fail("no password on standard input: give it as one line")
    return line.rstrip("\r\n")


@click.command("password")
@click.argument("staff_key", metavar="STAFF_KEY")
def password(staff_key: str) -> None:
    """Set STAFF_KEY's password for the staff console (/desk/).

    Asked twice on a terminal, or read as one line from standard input. At least
    10 characters. Their open console sessions end.

    \b
    Example:
      clinicbot staff password desk
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            member = await find_staff(uow, staff_key)
            name = member.name
        secret = _read_password()
        try:
            desk_auth.check_new_password(secret)
        except InvalidInput as exc:
            fail(exc.message)
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            await desk_auth.set_password(uow, staff_key, secret, actor=actor)
            await uow.commit()
        return [f"Password set for {staff_key} ({name}); they can log in at /desk/login."]

    echo(run(work))


COMMANDS = [password]
