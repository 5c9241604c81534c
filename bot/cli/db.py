"""``clinicbot db ...``: the database schema."""

from __future__ import annotations

import click

from bot.cli.common import Context, run
from bot.storage.migrate import current_revision


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Apply schema migrations (also done whenever the bot starts)."""

    async def work(ctx: Context) -> str | None:
        return await current_revision(ctx.engine)

    revision = run(work)
    click.echo(f"Database schema is at revision {revision}.")


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
