"""The stage runner: a pipeline is a graph of stages; this runs it.

A stage is a name, a function, and the stages it needs. ``run`` starts
each stage as soon as every stage it needs has succeeded, so independent
ones (checking the hosts while the image builds; later lint beside test)
run at the same time. It owns the threads, Ctrl-C, the timing and the
result document:

- a failed stage stops the stages that need it (``blocked``); stages that
  do not need it finish what they do;
- the first Ctrl-C (or the ``cancel`` event, however it was set) starts no
  further stage; the running ones see the event at their next safe point;
  a second Ctrl-C stops waiting at once;
- when the run ends, the failure of the earliest declared stage that failed
  is raised (so declaration order says which error matters most), or
  ``Interrupted`` when Ctrl-C left stages unstarted; every outcome, with its
  seconds, is in the returned ``Run`` (or in the ``into`` one the caller
  passed, which is filled in even when the run raises).

A stage may return ``Skipped(reason)`` when its inputs are unchanged; it
counts as a success for the stages that need it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from goship.errors import Interrupted
from goship.events import NullReporter, Reporter, Stage

Status = Literal["ok", "skipped", "failed", "blocked", "cancelled"]

#: The version of the document ``Run.document`` returns.
DOCUMENT_VERSION = 1


@dataclass(frozen=True)
class Skipped:
    """What a stage returns when there was nothing to do (its inputs are unchanged)."""

    reason: str
    value: object = None


@dataclass(frozen=True)
class StageContext:
    """What a running stage gets: its events, the values of the stages it needs, Ctrl-C."""

    stage: Stage
    inputs: Mapping[str, object]
    cancel: threading.Event


@dataclass(frozen=True)
class StageDef:
    name: str
    run: Callable[[StageContext], object]
    needs: tuple[str, ...] = ()


@dataclass
class Outcome:
    name: str
    status: Status
    seconds: float = 0.0
    value: object = None
    error: BaseException | None = None
    #: Why it was skipped, blocked or cancelled.
    reason: str = ""


@dataclass
class Run:
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        return self.outcomes[name].value

    def document(self) -> dict[str, object]:
        """The run as JSON-ready data (versioned), for reports."""
        return {
            "version": DOCUMENT_VERSION,
            "stages": [
                {
                    "name": o.name,
                    "status": o.status,
                    "seconds": round(o.seconds, 3),
                    **({"reason": o.reason} if o.reason else {}),
                    **({"error": str(getattr(o.error, "message", o.error))} if o.error is not None else {}),
                }
                for o in self.outcomes.values()
            ],
        }


def check_graph(stages: Sequence[StageDef]) -> None:
    """Names unique, every need declared before the stage that needs it (so no cycle)."""
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            raise ValueError(f"stage {stage.name!r} declared twice")
        missing = [need for need in stage.needs if need not in seen]
        if missing:
            raise ValueError(f"stage {stage.name!r} needs {', '.join(missing)}, not declared before it")
        seen.add(stage.name)


def run(
    stages: Sequence[StageDef],
    *,
    reporter: Reporter | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    into: Run | None = None,
) -> Run:
    """Run the graph; raise the first declared stage's failure, or Interrupted (see the module)."""
    check_graph(stages)
    reporter = reporter or NullReporter()
    cancel = cancel or threading.Event()
    result = Run()
    pending = list(stages)
    running: dict[Future[object], tuple[StageDef, float]] = {}

    def finished(name: str) -> bool:
        return name in result.outcomes and result.outcomes[name].status in ("ok", "skipped")

    while pending or running:
        for stage in list(pending):
            blocked = [n for n in stage.needs if n in result.outcomes and not finished(n)]
            if cancel.is_set():
                result.outcomes[stage.name] = Outcome(stage.name, "cancelled", reason="interrupted before it started")
                pending.remove(stage)
            elif blocked:
                result.outcomes[stage.name] = Outcome(stage.name, "blocked", reason=f"{blocked[0]} did not succeed")
                pending.remove(stage)
            elif all(finished(n) for n in stage.needs):
                context = StageContext(
                    Stage(reporter, stage.name), {n: result.outcomes[n].value for n in stage.needs}, cancel
                )
                running[start(stage.run, context, name=f"goship-{stage.name}")] = (stage, clock())
                pending.remove(stage)
        if not running:
            continue
        for future in wait_interruptible(list(running), cancel, Stage(reporter, "ship")):
            stage, started = running.pop(future)
            seconds = clock() - started
            try:
                value = future.result()
            except BaseException as exc:  # noqa: BLE001 - recorded, and raised below in declaration order
                result.outcomes[stage.name] = Outcome(stage.name, "failed", seconds, error=exc)
                continue
            if isinstance(value, Skipped):
                result.outcomes[stage.name] = Outcome(stage.name, "skipped", seconds, value.value, reason=value.reason)
            else:
                result.outcomes[stage.name] = Outcome(stage.name, "ok", seconds, value)
    # Declaration order, not completion order: the list says which failure matters most.
    ordered = into if into is not None else Run()
    ordered.outcomes = {s.name: result.outcomes[s.name] for s in stages}
    for outcome in ordered.outcomes.values():
        if outcome.status == "failed" and outcome.error is not None:
            raise outcome.error
    cancelled = [o.name for o in ordered.outcomes.values() if o.status == "cancelled"]
    if cancelled:
        done = [o.name for o in ordered.outcomes.values() if o.status in ("ok", "skipped")]
        raise Interrupted(f"interrupted after {', '.join(done) or 'nothing'}: {', '.join(cancelled)} did not start")
    return ordered


T = TypeVar("T")


def start(work: Callable[..., T], *args: object, name: str = "goship-work") -> Future[T]:
    """Run ``work(*args)`` on a daemon thread: a second Ctrl-C ends goship at once, without
    waiting for it (a ThreadPoolExecutor's threads are joined at exit)."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def wait_interruptible(futures: Sequence[Future[T]], cancel: threading.Event, stage: Stage) -> set[Future[T]]:
    """Wait in this (the main) thread, where Ctrl-C arrives, until one of ``futures`` is done.

    The first Ctrl-C sets ``cancel`` (the work stops at its next safe point) and says so on
    ``stage``; a second one raises KeyboardInterrupt at once.
    """
    while True:
        try:
            done, _ = futures_wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:
            if cancel.is_set():
                raise
            cancel.set()
            stage.warn("interrupted: stopping at a safe point (Ctrl-C again to stop at once)")
            continue
        if done:
            return done
