"""Progress and results as events; the terminal and JSON are renderers.

Library code never prints: it calls ``Reporter.emit``. The CLI picks a
renderer (rich text for people, JSON lines for machines and CI).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol, TextIO

_log = logging.getLogger("goship.events")

Level = Literal["step", "info", "ok", "warn", "error"]


@dataclass(frozen=True)
class Event:
    stage: str  # build, push, deploy, ...
    level: Level
    message: str
    host: str | None = None
    data: dict[str, object] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...


class NullReporter:
    def emit(self, event: Event) -> None:
        pass


class CollectingReporter:
    """Keeps every event; for tests and for building summaries."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


class JSONReporter:
    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream

    def emit(self, event: Event) -> None:
        self.stream.write(json.dumps(asdict(event), default=str) + "\n")
        self.stream.flush()


class Stage:
    """Emits events for one stage, so callers write ``stage.ok("pushed")``."""

    def __init__(self, reporter: Reporter, name: str, host: str | None = None) -> None:
        self.reporter = reporter
        self.name = name
        self.host = host

    def _emit(self, level: Level, message: str, **data: object) -> None:
        _log.debug("%s %s: %s", self.name, self.host or "", message)
        self.reporter.emit(Event(self.name, level, message, self.host, dict(data)))

    def step(self, message: str, **data: object) -> None:
        self._emit("step", message, **data)

    def info(self, message: str, **data: object) -> None:
        self._emit("info", message, **data)

    def ok(self, message: str, **data: object) -> None:
        self._emit("ok", message, **data)

    def warn(self, message: str, **data: object) -> None:
        self._emit("warn", message, **data)

    def on(self, host: str) -> Stage:
        return Stage(self.reporter, self.name, host)
