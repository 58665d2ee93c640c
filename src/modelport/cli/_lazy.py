"""Commands of a group that live in another module, imported and built when first named.

``model deploy`` and ``model package`` bring the deploy inputs, the operation display and the
packaging options: importing and building them cost ~8% of a ``modelport model list``. A group
made with :func:`lazy_group` lists them after its own commands (where ``register(app)`` put them
before) and builds one only when it runs or a help listing needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup


def lazy_group(commands: dict[str, str]) -> type[TyperGroup]:
    """A group class for ``typer.Typer(cls=...)``: ``commands`` maps a command name to the module
    whose ``register(app)`` adds it to a Typer app."""

    class LazyCommands(TyperGroup):
        def list_commands(self, ctx: Any) -> list[str]:
            own = [name for name in super().list_commands(ctx) if name not in commands]
            return own + list(commands)

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            module = commands.get(cmd_name)
            if module is not None and cmd_name not in self.commands:
                self.commands[cmd_name] = _build(self, cmd_name, module)
            return super().get_command(ctx, cmd_name)

    return LazyCommands


def _build(group: TyperGroup, name: str, module: str) -> Any:
    """The command as the group's own Typer app would have built it."""
    from modelport.cli._params import use_plain_coercion
    from modelport.cli.main import _HELP_NAMES

    holder = typer.Typer(rich_markup_mode=group.rich_markup_mode)
    importlib.import_module(module).register(holder)
    command = typer.main.get_group(holder).commands[name]
    use_plain_coercion(command, _HELP_NAMES)
    return command
