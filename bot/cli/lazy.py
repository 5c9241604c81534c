"""A click group that imports a command's module only when that command runs (or is listed).

``clinicbot staff pay`` should not pay for importing the PDF writer, the Telegram library and
every other command family: each ``clinicbot`` call is a new process, and the front desk (and
the tests) run many. A :class:`LazyGroup` knows its commands by name, as a list of *families*:
``(module, (command names...))``. The first time a command of a family is looked up, the
module is imported and its commands are added to the group by the group's ``install``
function; listing the group (``--help``) imports them all.

The names are written out beside the modules that define them;
tests/unit/test_cli_lazy.py checks that each family's names are exactly what its module adds,
so a new command cannot be forgotten here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import click

Family = tuple[str, tuple[str, ...]]
Install = Callable[[ModuleType, click.Group], None]


def register_module(module: ModuleType, group: click.Group) -> None:
    """The top-level install: the module's own ``register(group)``."""
    module.register(group)


def add_commands(module: ModuleType, group: click.Group) -> None:
    """The ``staff`` install: each command of the module's ``COMMANDS`` list."""
    for command in module.COMMANDS:
        group.add_command(command)


class LazyGroup(click.Group):
    """A click group whose command families are imported on first use (module docstring).

    ``ordered``: list the commands in family order (as written), not alphabetically.
    """

    def __init__(
        self,
        *args: Any,
        families: Sequence[Family] = (),
        install: Install = register_module,
        ordered: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.families = tuple(families)
        self.install = install
        self.ordered = ordered
        self.installed: set[str] = set()

    def load(self, module_name: str) -> None:
        """Import one family's module and add its commands (once)."""
        if module_name not in self.installed:
            self.installed.add(module_name)
            self.install(importlib.import_module(module_name), self)

    def load_all(self) -> None:
        for module_name, _ in self.families:
            self.load(module_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        named = [name for _, names in self.families for name in names]
        listed = named + [name for name in self.commands if name not in named]
        return listed if self.ordered else sorted(listed)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module_name, names in self.families:
            if cmd_name in names:
                self.load(module_name)
                break
        return super().get_command(ctx, cmd_name)
