"""``clinicbot load FILE.toml``: create or update the clinic from its set-up file.

The file is read and validated completely before the database is opened, so a bad file writes
nothing: its problems are printed (file, line, section, key, what to write) and the exit
status is 2. A good file is loaded in one unit of work (see :mod:`bot.services.setup`).
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import Context, fail, run
from bot.clinicfile import ClinicFileError, read_clinic_file
from bot.services.setup import LoadSummary, load_clinic


@click.command("load")
@click.argument("file", metavar="FILE.toml", type=click.Path(path_type=Path))
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the file and show what loading it would change, without writing anything.",
)
def load_command(file: Path, dry_run: bool) -> None:
    """Create or update the clinic from a set-up FILE.toml.

    The file describes the clinic, its locations, practitioners and their hours, fees,
    packages, memberships, staff, and patients, purchases and memberships already on file.
    'clinicbot init clinic.toml' writes a commented example of every section and key to start
    from. Rows are matched by their key: loading the same file twice changes nothing; an edited
    file updates what changed. A bad file is reported with its line, section and key, nothing
    is written, and the exit status is 2.

    Access the file no longer gives is revoked, and listed as such: staff not in the file lose
    their Telegram chat and alerts, a telegram_chat_id line removed takes that chat back, and a
    guardian no longer in a ward's guardians (or whose ward is gone) stops managing the ward.
    Family links added with 'clinicbot staff add-guardian' are never revoked by a load.
    """
    try:
        spec = read_clinic_file(file)
    except ClinicFileError as exc:
        fail(f"{exc}\nNothing was loaded; fix the file and run 'clinicbot load' again.")
        return

    async def work(ctx: Context) -> LoadSummary:
        async with ctx.uow() as uow:
            summary = await load_clinic(uow, spec)
            if not dry_run:
                await uow.commit()
            return summary

    summary = run(work)
    if dry_run:
        click.echo(f"{file} is valid. Loading it would do this (nothing was written):")
    elif summary.changed:
        click.echo(f"Loaded {file}:")
    else:
        click.echo(f"Loaded {file}: nothing changed, the database already matches it.")
        return
    for line in summary.lines():
        click.echo(f"  {line}")


def register(cli: click.Group) -> None:
    cli.add_command(load_command)
