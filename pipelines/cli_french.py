"""The command line's own texts in French: help pages, usage lines and command-line errors.

Typer ≥ 0.22 vendors click, whose texts are English literals (« Show this message and exit. »,
« Usage: », « Missing argument », « [required] ») with no gettext hook to translate them. So the
CLI uses typer's documented extension points instead: ``Typer(cls=…)`` and ``command(cls=…)`` take
these subclasses, which write the help page themselves (plain text, without rich: rendering help
with rich costs ~0.4 s of imports) and turn click's exceptions into French sentences before they
reach the person. Only typer is imported here: the CLI must start at once.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

HELP_TEXT = "Affiche cette aide et quitte."
_TYPE_NAMES = {
    "text": "TEXTE",
    "str": "TEXTE",
    "int": "ENTIER",
    "integer": "ENTIER",
    "float": "NOMBRE",
    "path": "CHEMIN",
    "file": "FICHIER",
    "directory": "DOSSIER",
    "boolean": "",
}
# click's English messages for a bad value, and their French wording.
_VALUE_MESSAGES = [
    (re.compile(r"^(?:File|Path|Directory) '(?P<v>.*)' does not exist\.$"), "« {v} » n'existe pas"),
    (re.compile(r"^(?:File|Path|Directory) '(?P<v>.*)' is a directory\.$"), "« {v} » est un dossier"),
    (re.compile(r"^(?:File|Path|Directory) '(?P<v>.*)' is a file\.$"), "« {v} » est un fichier"),
    (re.compile(r"^(?:File|Path|Directory) '(?P<v>.*)' is not readable\.$"), "« {v} » n'est pas lisible"),
    (re.compile(r"^'(?P<v>.*)' is not a valid int(?:eger)?(?: range)?\.$"), "« {v} » n'est pas un entier"),
    (re.compile(r"^'(?P<v>.*)' is not a valid float( range)?\.$"), "« {v} » n'est pas un nombre"),
    (re.compile(r"^'(?P<v>.*)' is not one of (?P<c>.*)\.$"), "« {v} » n'est pas l'une des valeurs {c}"),
]


def french_value_message(message: str) -> str:
    for pattern, french in _VALUE_MESSAGES:
        match = pattern.match(message)
        if match:
            return french.format(**{k: v.replace("'", "") for k, v in match.groupdict().items()})
    return message


def french_error(exc: click.ClickException) -> str:
    """One French sentence for a command-line error click raised."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.exceptions.MissingParameter):
        param = exc.param
        if param is not None and param.param_type_name == "option":
            return f"option obligatoire manquante : {param.opts[0]}"
        name = _metavar(param, ctx) if param is not None and ctx is not None else "?"
        return f"argument obligatoire manquant : {name}"
    if isinstance(exc, click.exceptions.NoSuchOption):
        text = f"option inconnue : {exc.option_name}"
        if exc.possibilities:
            text += " (vouliez-vous dire " + " ou ".join(sorted(exc.possibilities)) + " ?)"
        return text
    if isinstance(exc, click.exceptions.BadParameter):
        param = exc.param
        hint = exc.param_hint
        if hint is None and param is not None:
            hint = param.opts[0] if param.param_type_name == "option" else _metavar(param, ctx)
        hint = " / ".join(hint) if isinstance(hint, list | tuple) else hint
        value = french_value_message(exc.message)
        return f"valeur invalide pour {hint} : {value}" if hint else f"valeur invalide : {value}"
    message = exc.format_message()
    if match := re.match(r"^No such command '(.*)'\.$", message):
        return f"commande inconnue « {match[1]} »"
    if match := re.match(r"^Got unexpected extra arguments? \((.*)\)$", message):
        return f"argument(s) en trop : {match[1]}"
    if message == "Missing command.":
        return "commande manquante"
    if match := re.match(r"^Option '(.*)' requires an argument\.$", message):
        return f"l'option {match[1]} attend une valeur"
    return message


def _metavar(param: click.Parameter, ctx: click.Context | None) -> str:
    if param.metavar:
        return param.metavar
    return (param.name or "").upper()


def _option_metavar(param: click.Parameter) -> str:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return param.metavar
    choices = getattr(param.type, "choices", None)
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    return _TYPE_NAMES.get(param.type.name, param.type.name.upper())


def _usage_pieces(command: click.Command, ctx: click.Context) -> list[str]:
    pieces = []
    if any(p.param_type_name == "option" for p in command.get_params(ctx)):
        pieces.append("[OPTIONS]")
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            name = _metavar(param, ctx)
            if param.nargs != 1:
                name += "..."
            pieces.append(name if param.required else f"[{name}]")
    if isinstance(command, click.Command) and hasattr(command, "commands"):
        pieces.append("COMMANDE [ARGUMENTS]...")
    return pieces


def usage_line(ctx: click.Context) -> str:
    return f"Utilisation : {ctx.command_path} " + " ".join(_usage_pieces(ctx.command, ctx))


def _default_text(param: click.Parameter) -> str:
    default = param.default
    if default is None or getattr(param, "is_flag", False) or default == () or default is False:
        return ""
    if isinstance(default, list | tuple):
        default = ", ".join(str(d) for d in default)
    default = getattr(default, "value", default)  # an Enum member: its value, as typed on the line
    return f"[défaut : {default}]"


def _rows(command: click.Command, ctx: click.Context) -> tuple[list, list]:
    arguments, options = [], []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        extras = []
        if param.param_type_name == "argument":
            if param.required:
                extras.append("[obligatoire]")
            help_text = " ".join([getattr(param, "help", None) or "", *extras]).strip()
            arguments.append((_metavar(param, ctx), help_text))
            continue
        names = ", ".join(param.opts)
        if param.secondary_opts:
            names += " / " + ", ".join(param.secondary_opts)
        metavar = _option_metavar(param)
        if metavar:
            names += f" {metavar}"
        default = _default_text(param)
        if default:
            extras.append(default)
        if param.required:
            extras.append("[obligatoire]")
        text = HELP_TEXT if param.name == "help" else (getattr(param, "help", None) or "")
        options.append((names, " ".join([text, *extras]).strip()))
    return arguments, options


def _write_section(formatter: click.HelpFormatter, title: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    formatter.write_paragraph()
    formatter.write_text(f"{title} :")
    formatter.indent()
    formatter.write_dl(rows)
    formatter.dedent()


def write_help(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    formatter.write(usage_line(ctx) + "\n")
    if command.help:
        formatter.write_paragraph()
        formatter.indent()
        formatter.write_text(inspect.cleandoc(command.help))
        formatter.dedent()
    arguments, options = _rows(command, ctx)
    _write_section(formatter, "Arguments", arguments)
    _write_section(formatter, "Options", options)
    if isinstance(command, TyperGroup):
        commands = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                commands.append((name, sub.get_short_help_str(limit=200)))
        _write_section(formatter, "Commandes", commands)


def show_error(exc: click.ClickException) -> None:
    ctx = getattr(exc, "ctx", None)
    lines = []
    if ctx is not None:
        lines.append(usage_line(ctx))
        lines.append(f"Aide : {ctx.command_path} --help")
    lines.append(f"Erreur : {french_error(exc)}")
    click.echo("\n".join(lines), file=sys.stderr)


class FrenchCommand(TyperCommand):
    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        write_help(self, ctx, formatter)


class FrenchGroup(TyperGroup):
    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        write_help(self, ctx, formatter)

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None, **extra: Any) -> Any:
        standalone = extra.pop("standalone_mode", True)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help(), file=sys.stderr)
            if not standalone:
                raise
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if not standalone:
                raise
            show_error(exc)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            if not standalone:
                raise
            click.echo("Interrompu.", file=sys.stderr)
            sys.exit(1)
        if not standalone:
            return result
        sys.exit(result if isinstance(result, int) else 0)


class FrenchTyper(typer.Typer):
    """``typer.Typer`` whose group and commands speak French (see the module docstring)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(cls=FrenchGroup, rich_markup_mode=None, **options)

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or FrenchCommand, **kwargs)
