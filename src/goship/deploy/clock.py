"""Time, as a parameter: the real clock, or the fake one that unit tests advance."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from goship.errors import Interrupted


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


REAL_CLOCK = RealClock()


class Cancellable:
    """A clock whose waits end in ``Interrupted`` once ``event`` is set (the first Ctrl-C).

    Every wait of a deploy (probing a new version, watching it) is a safe
    point: nothing is half-done there. Draining is not interrupted (``inner``):
    the old version finishes what it answers, at most deploy.drain.
    """

    def __init__(self, inner: Clock, event: threading.Event) -> None:
        self.inner = inner
        self.event = event

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def check(self) -> None:
        if self.event.is_set():
            raise Interrupted("interrupted")

    def sleep(self, seconds: float) -> None:
        self.check()
        if isinstance(self.inner, RealClock):
            self.event.wait(timeout=seconds)  # wakes at once for the interrupt
        else:
            self.inner.sleep(seconds)
        self.check()


def checkpoint(clock: Clock) -> None:
    """Raise Interrupted here if the deploy was asked to stop."""
    check = getattr(clock, "check", None)
    if check is not None:
        check()


def uninterrupted(clock: Clock) -> Clock:
    inner: Clock = getattr(clock, "inner", clock)
    return inner
