"""The ``clinicbot`` command line: one click group, one module per command family.

Commands live in ``bot/cli/*.py``; :data:`FAMILIES` names each module's commands, and the
module is imported only when one of them runs (:class:`bot.cli.lazy.LazyGroup`: each call is a
new process, so ``clinicbot staff pay`` imports what paying needs, not every command). Each
module's ``register(group)`` adds its commands; each command runs its async work through
:func:`bot.cli.common.run`, which builds the engine from the settings, applies migrations, and
turns domain errors into a clear message and exit status 2.
"""

from __future__ import annotations

import logging
import sys

import click

from bot.cli.lazy import Family, LazyGroup

FAMILIES: tuple[Family, ...] = (
    ("bot.cli.db", ("db",)),
    ("bot.cli.init", ("init",)),
    ("bot.cli.load", ("load",)),
    ("bot.cli.report", ("report",)),
    ("bot.cli.staff", ("staff",)),
    ("bot.cli.chat", ("chat", "demo")),
    ("bot.cli.serve", ("serve",)),
    ("bot.cli.jobs", ("jobs",)),
)


@click.group(
    cls=LazyGroup, families=FAMILIES, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="clinic-booking-bot", prog_name="clinicbot")
def cli() -> None:
    """Clinic booking bot: packages, memberships and bookings over Telegram and SMS."""


def build_cli() -> click.Group:
    """The ``clinicbot`` group; its command families are imported as they are used."""
    return cli


def main() -> None:
    """Entry point of the ``clinicbot`` console script."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    build_cli()(prog_name="clinicbot")
