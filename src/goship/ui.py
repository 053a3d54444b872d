"""The terminal, for people: events, errors and results as literal text.

Everything printed here comes from users, services, Docker or BuildKit at
some point, so nothing is ever read as markup: the consoles are made with
markup, emoji codes and highlighting off, and colour is given to whole
pieces of text (``Text`` spans) - ``root:x:0:0`` and ``[/x]`` print as
they are. rich is imported on first use only, so ``goship --help`` does not
pay for it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from goship.errors import GoshipError
    from goship.events import Event

_STYLE = {
    "step": ("->", "cyan"),
    "info": ("  ", "dim"),
    "ok": ("ok", "green"),
    "warn": ("!!", "yellow"),
    "error": ("xx", "red"),
}
_consoles: dict[bool, Console] = {}

#: One piece of a line: (text, rich style or None).
Piece = tuple[str, "str | None"]


def console(stderr: bool) -> Console:
    if stderr not in _consoles:
        from rich.console import Console

        _consoles[stderr] = Console(
            stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True,
            file=sys.stderr if stderr else sys.stdout,
        )
    return _consoles[stderr]


def _text(pieces: tuple[Piece, ...]) -> object:
    from rich.text import Text

    text = Text()
    for part, style in pieces:
        text.append(safe(part), style=style or "")
    return text


def safe(text: str) -> str:
    """Text as it is, but with control characters (ANSI escapes) shown, not obeyed."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\t\n" else f"\\x{ord(c):02x}" for c in text)


def _colour(stream: object) -> bool:
    """Whether styles reach a person: a terminal, or FORCE_COLOR (and no NO_COLOR)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def say(*pieces: Piece, stderr: bool = False, end: str = "\n") -> None:
    """Print pieces of text, each with its own style, literally.

    Without a terminal (CI logs, pipes) the text is written as it is and
    rich is never loaded: styles would be dropped anyway.
    """
    stream = sys.stderr if stderr else sys.stdout
    if not _colour(stream):
        stream.write("".join(safe(part) for part, _ in pieces) + end)
        stream.flush()
        return
    console(stderr).print(_text(pieces), end=end)


def out(text: str, style: str | None = None) -> None:
    say((text, style))


def err(text: str, style: str | None = None) -> None:
    say((text, style), stderr=True)


class ConsoleReporter:
    """Events as one line each on stderr: ``-> deploy root@web1: starting hello-2``."""

    def emit(self, event: Event) -> None:
        mark, style = _STYLE[event.level]
        where = f" {event.host}" if event.host else ""
        say((mark, style), (" ", None), (event.stage, "bold"), (f"{where}: {event.message}", None), stderr=True)


def render_error(error: GoshipError) -> None:
    say(("error:", "red bold"), (f" {error.message}", None), stderr=True)
    for line in error.details:
        say((f"  {line}", "dim"), stderr=True)
    if error.hint:
        say(("hint:", "yellow"), (f" {error.hint}", None), stderr=True)
