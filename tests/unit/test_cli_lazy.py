"""The ``clinicbot`` command families load on first use (bot/cli/lazy.py), and nothing is lost.

Each family's written-out names must be exactly the commands its module adds, in order; a
desk command imports its own family, not the PDF writer, Telegram or the other families.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest

from bot.cli import FAMILIES as TOP_FAMILIES
from bot.cli.staff import FAMILIES as STAFF_FAMILIES


@pytest.mark.parametrize(("module_name", "names"), TOP_FAMILIES)
def test_each_top_level_family_names_the_commands_its_module_registers(
    module_name: str, names: tuple[str, ...]
) -> None:
    group = click.Group()
    importlib.import_module(module_name).register(group)
    assert tuple(group.commands) == names


@pytest.mark.parametrize(("module_name", "names"), STAFF_FAMILIES)
def test_each_staff_family_names_its_commands_in_order(
    module_name: str, names: tuple[str, ...]
) -> None:
    commands = importlib.import_module(module_name).COMMANDS
    assert tuple(command.name for command in commands) == names


def test_no_command_name_is_claimed_twice() -> None:
    for families in (TOP_FAMILIES, STAFF_FAMILIES):
        names = [name for _, family in families for name in family]
        assert len(names) == len(set(names))


PROBE = """
import sys
import click
from bot.cli import build_cli
cli = build_cli()
ctx = click.Context(cli)
staff = cli.get_command(ctx, "staff")
assert staff is not None and staff.get_command(ctx, "pay") is not None
assert staff.get_command(ctx, "no-such-command") is None
loaded = sorted(name for name in sys.modules
                if name.split(".")[0] in ("fpdf", "telegram", "aiohttp", "dateparser")
                or name.startswith("bot.cli."))
print(" ".join(loaded))
"""


def test_a_desk_command_imports_only_its_own_family() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True, timeout=60)
    loaded = done.stdout.split()
    assert "bot.cli.staff_billing" in loaded  # where `pay` lives
    assert [name for name in loaded if name.split(".")[0] != "bot"] == []
    others = {module for module, _ in STAFF_FAMILIES} - {"bot.cli.staff_billing"}
    assert others.isdisjoint(loaded)


def test_help_lists_every_command_of_every_family() -> None:
    cli = importlib.import_module("bot.cli").build_cli()
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(
        name for _, names in TOP_FAMILIES for name in names)
    staff = cli.get_command(ctx, "staff")
    assert isinstance(staff, click.Group)
    listed = staff.list_commands(ctx)
    assert listed == [name for _, names in STAFF_FAMILIES for name in names]
    assert all(staff.get_command(ctx, name) is not None for name in listed)
