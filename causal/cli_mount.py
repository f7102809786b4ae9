"""Sub-commands of ``causal`` that live in their own modules, imported when used.

``causal context`` (pandas) and ``causal validate`` (numpy, pandas, the identification
module with networkx and pydot) used to be mounted when ``causal.cli`` was imported, so
every command paid their imports (``causal check`` about half a second of its second).
:class:`LazyGroup` is click's documented pattern for lazily loaded subcommands ("Lazily
Loading Subcommands", click's advanced guide): ``get_command`` imports a sub-command the
first time it is asked for it by name; listing the commands (``causal --help``) loads them
all.
"""
from __future__ import annotations

from collections.abc import Callable

import typer
from typer.core import TyperGroup


def _context() -> typer.core.TyperGroup:
    from causal.context.cli import app as context_app

    cmd = typer.main.get_command(context_app)
    cmd.help = "Check the AOW age and the conjunctuur series."
    return cmd


def _validate():
    from causal.cli import user_errors
    from causal.validate import validate_command

    one = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    one.command("validate")(user_errors(validate_command))
    return typer.main.get_command(one)


#: name -> loader of the click command (loaders may raise ImportError: optional parts)
LAZY: dict[str, Callable[[], object]] = {"context": _context, "validate": _validate}


class LazyGroup(TyperGroup):
    """The ``causal`` group: the commands of :data:`LAZY` load on first use."""

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in self.commands and cmd_name in LAZY:
            try:
                cmd = LAZY[cmd_name]()
            except ImportError:
                return None
            cmd.name = cmd_name
            self.commands[cmd_name] = cmd
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in LAZY:
            # an unknown name: typer suggests among the loaded commands ("Did you mean
            # 'context'?"), so load the rest first (only on this error path)
            self.list_commands(ctx)
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx) -> list[str]:
        for name in LAZY:
            self.get_command(ctx, name)
        return super().list_commands(ctx)
