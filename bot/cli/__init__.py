"""The ``clinicbot`` command line: one click group, one module per command family.

Commands live in ``bot/cli/*.py`` and are registered in :func:`build_cli`; each runs its async
work through :func:`bot.cli.common.run`, which builds the engine from the settings, applies
migrations, and turns domain errors into a clear message and exit status 2.
"""

from __future__ import annotations

import logging
import sys

import click

from bot.cli import chat, db, init, jobs, load, report, serve, staff


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clinic-booking-bot", prog_name="clinicbot")
def cli() -> None:
    """Clinic booking bot: packages, memberships and bookings over Telegram and SMS."""


def build_cli() -> click.Group:
    """Register every command family on the ``clinicbot`` group."""
    db.register(cli)
    init.register(cli)
    load.register(cli)
    report.register(cli)
    staff.register(cli)
    chat.register(cli)
    serve.register(cli)
    jobs.register(cli)
    return cli


def main() -> None:
    """Entry point of the ``clinicbot`` console script."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    build_cli()(prog_name="clinicbot")
