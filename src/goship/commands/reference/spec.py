"""The argparse parser of ``goship`` read into plain data.

argparse keeps what the reference and the completion scripts need in private
attributes (``_actions``, ``_name_parser_map``); reading them here, once, keeps
that knowledge in one module.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: What a value is, for completion: a directory, a file, one of the target names
#: of goship.yaml, one of fixed choices, or anything.
ValueKind = Literal["dir", "file", "target", "choice", "command", "any"]


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]  # ("-f", "--follow")
    help: str
    #: None for a switch (takes no value).
    metavar: str | None
    choices: tuple[str, ...] = ()
    kind: ValueKind = "any"

    @property
    def takes_value(self) -> bool:
        return self.metavar is not None


@dataclass(frozen=True)
class Positional:
    name: str
    help: str
    optional: bool
    choices: tuple[str, ...] = ()
    kind: ValueKind = "any"


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    epilog: str = ""
    #: What --json prints: "document" (one JSON document), "lines" (JSON lines), or "" (no --json).
    json_output: str = ""

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(flag for option in self.options for flag in option.flags)


@dataclass(frozen=True)
class CLI:
    prog: str
    description: str
    usage: str
    options: tuple[Option, ...]
    commands: tuple[Command, ...]

    def command(self, name: str) -> Command:
        return next(command for command in self.commands if command.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(command.name for command in self.commands)


def _kind(action: argparse.Action) -> ValueKind:
    if action.dest == "dir":
        return "dir"
    if action.dest == "target":
        return "target"
    if action.dest == "topic":
        return "command"
    if action.choices:
        return "choice"
    if action.type is Path:
        return "file"
    return "any"


def _help(action: argparse.Action) -> str:
    text = action.help or ""
    return "" if text == argparse.SUPPRESS else " ".join(text.split())


def _usage(parser: argparse.ArgumentParser) -> str:
    return " ".join(parser.format_usage().split()).removeprefix("usage: ")


def _option(action: argparse.Action) -> Option:
    switch = action.nargs == 0
    metavar = None if switch else str(action.metavar or action.dest.upper())
    return Option(
        flags=tuple(action.option_strings), help=_help(action), metavar=metavar,
        choices=tuple(str(choice) for choice in action.choices or ()), kind=_kind(action),
    )


def _options(parser: argparse.ArgumentParser) -> tuple[tuple[Option, ...], tuple[Positional, ...]]:
    options: list[Option] = []
    positionals: list[Positional] = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            options.append(_option(action))
        else:
            positionals.append(Positional(
                name=str(action.metavar or action.dest), help=_help(action),
                optional=action.nargs in ("?", "*", argparse.REMAINDER),
                choices=tuple(str(choice) for choice in action.choices or ()), kind=_kind(action),
            ))
    return tuple(options), tuple(positionals)


def _commands_action(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each visible command's parser, in the order ``goship --help`` lists them."""
    action = _commands_action(parser)
    visible = [choice.dest for choice in action._choices_actions]
    return {name: action._name_parser_map[name] for name in visible}


def describe(parser: argparse.ArgumentParser) -> CLI:
    """The whole command line as data: global options and every visible command."""
    summaries = {choice.dest: _help(choice) for choice in _commands_action(parser)._choices_actions}
    commands = []
    for name, sub in command_parsers(parser).items():
        options, positionals = _options(sub)
        commands.append(Command(
            name=name, summary=summaries.get(name, ""), usage=_usage(sub), options=options,
            positionals=positionals, epilog=" ".join((sub.epilog or "").split()),
            json_output=str(sub.get_default("json_output") or ""),
        ))
    options, _ = _options(parser)
    return CLI(
        prog=parser.prog, description=parser.description or "", usage=_usage(parser), options=options,
        commands=tuple(commands),
    )
