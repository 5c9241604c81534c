"""``clinicbot init [FILE]``: write the commented example set-up file to start from.

The file is created, never overwritten (an existing path exits 2 and is left alone), readable
and writable by its owner only: a set-up file may come to hold patients' names and phones.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from bot.cli.common import fail
from bot.clinicfile.example import example_text

DEFAULT_FILE = "clinic.toml"
FILE_MODE = 0o600


@click.command("init")
@click.argument("file", metavar="[FILE]", default=DEFAULT_FILE,
                type=click.Path(path_type=Path, dir_okay=False))
def init_command(file: Path) -> None:
    """Write the commented example set-up file to FILE (default: clinic.toml).

    The example describes a whole clinic (locations, practitioners and their hours, fees,
    packages, memberships, reminders, staff, patients), with a comment on every key. Edit it
    for your clinic, check it with 'clinicbot load --dry-run FILE', then 'clinicbot load FILE'.
    An existing FILE is never overwritten (exit status 2).
    """
    text = example_text()
    try:
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        fail(f"{file} already exists; nothing was written. Give another FILE, or move {file} "
             "away first.")
        return
    except OSError as exc:
        fail(f"cannot create {file} ({exc.strerror or type(exc).__name__}); nothing was written")
        return
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    click.echo(f"Wrote {file}: the example clinic, with a comment on every key.")
    click.echo("Edit it for your clinic, then check it and load it:")
    click.echo(f"  clinicbot load --dry-run {file}")
    click.echo(f"  clinicbot load {file}")


def register(cli: click.Group) -> None:
    cli.add_command(init_command)
