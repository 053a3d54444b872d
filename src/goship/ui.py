"""Terminal rendering of events and errors (rich), for people."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from goship.errors import GoshipError
from goship.events import Event

_STYLE = {"step": ("->", "cyan"), "info": ("  ", "dim"), "ok": ("ok", "green"), "warn": ("!!", "yellow"), "error": ("xx", "red")}


class ConsoleReporter:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)

    def emit(self, event: Event) -> None:
        mark, style = _STYLE[event.level]
        where = f" {event.host}" if event.host else ""
        self.console.print(
            f"[{style}]{mark}[/] [bold]{event.stage}[/]{escape(where)}: {escape(event.message)}"
        )


def render_error(console: Console, error: GoshipError) -> None:
    console.print(f"[red bold]error:[/] {escape(error.message)}")
    for line in error.details:
        console.print(f"  {escape(line)}", style="dim")
    if error.hint:
        console.print(f"[yellow]hint:[/] {escape(error.hint)}")
