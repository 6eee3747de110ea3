"""Commands loaded on first use: ``mftbot --help`` lists them without importing any.

:class:`LazyGroup` is the root command's group class. Each :class:`LazyEntry` names the
module and Typer app of a command (or command group) and its one-line help; the module is
imported only when that command is parsed, run or asked for its own help. A test checks that
each listed help line matches the command's own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.main
from typer import _click
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class LazyEntry:
    """Where a command lives: ``module``'s Typer app ``attr``.

    ``group``: the app is a command group (``mftbot <name> <sub>``); else its command
    ``name`` is a top-level command.
    """

    module: str
    attr: str
    help: str
    group: bool = False


def load_command(name: str, entry: LazyEntry) -> _click.Command:
    """Import ``entry``'s module and build the Click command ``name`` from its Typer app."""
    app = getattr(importlib.import_module(entry.module), entry.attr)
    if not isinstance(app, typer.Typer):
        raise TypeError(f"{entry.module}.{entry.attr} is not a Typer app")
    if entry.group:
        group = typer.main.get_group(app)
        group.name = name
        return group
    for info in app.registered_commands:
        if info.name == name:
            return typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
    raise LookupError(f"{entry.module}.{entry.attr} has no command {name!r}")


class LazyCommand(TyperCommand):
    """Stands in for a command in the root group: its name and help are known up front;
    parsing its arguments (its own ``--help`` included) loads the real one, which runs."""

    def __init__(self, name: str, entry: LazyEntry) -> None:
        super().__init__(name, help=entry.help, short_help=entry.help)
        self.entry = entry
        self._real: _click.Command | None = None

    @property
    def real(self) -> _click.Command:
        """The command itself (its module is imported on the first call)."""
        if self._real is None:
            self._real = load_command(self.name or "", self.entry)
        return self._real

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: _click.Context | None = None,
        **extra: Any,
    ) -> _click.Context:
        return self.real.make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: _click.Context) -> Any:
        return self.real.invoke(ctx)


class LazyGroup(TyperGroup):
    """A Typer group whose :attr:`commands_table` entries load on first use; commands
    registered the usual way come first."""

    commands_table: ClassVar[Mapping[str, LazyEntry]] = {}
    """Command name → entry, in listing order (a subclass sets it)."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(n for n in self.commands_table if n not in eager)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        entry = self.commands_table.get(cmd_name)
        if entry is None:
            return None
        cache: dict[str, LazyCommand] = self.__dict__.setdefault("_lazy_commands", {})
        if cmd_name not in cache:
            cache[cmd_name] = LazyCommand(cmd_name, entry)
        return cache[cmd_name]
