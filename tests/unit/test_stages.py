"""The stage runner: order, parallel stages, failures stopping what needs them, Ctrl-C."""

from __future__ import annotations

import threading
import time

import pytest

from goship.errors import BuildError, GoshipError, HostUnreachable, Interrupted
from goship.events import CollectingReporter
from goship.stages import Run, Skipped, StageContext, StageDef, check_graph, run


def _recorder():
    order: list[str] = []
    lock = threading.Lock()

    def stage(name: str, value: object = None, wait: threading.Event | None = None, fail: BaseException | None = None):
        def body(context: StageContext) -> object:
            with lock:
                order.append(f"start {name}")
            if wait is not None:
                assert wait.wait(5), f"{name} waited in vain"
            with lock:
                order.append(f"end {name}")
            if fail is not None:
                raise fail
            return value if value is not None else {"inputs": dict(context.inputs)}

        return body

    return order, stage


def test_a_stage_starts_after_the_stages_it_needs_and_gets_their_values():
    order, stage = _recorder()
    done = run([
        StageDef("build", stage("build", "image")),
        StageDef("push", stage("push"), needs=("build",)),
        StageDef("deploy", stage("deploy"), needs=("push",)),
    ])
    assert order == ["start build", "end build", "start push", "end push", "start deploy", "end deploy"]
    assert done.value("push") == {"inputs": {"build": "image"}}
    assert [o.status for o in done.outcomes.values()] == ["ok", "ok", "ok"]


def test_independent_stages_run_at_the_same_time():
    # lint waits until test has started: only possible when both run at once.
    test_started = threading.Event()
    order, stage = _recorder()

    def test_body(context: StageContext) -> str:
        test_started.set()
        return "tested"

    done = run([
        StageDef("lint", stage("lint", "linted", wait=test_started)),
        StageDef("test", test_body),
        StageDef("build", stage("build", "built"), needs=("lint", "test")),
    ])
    assert done.value("build") == "built"
    assert order.index("start build") > order.index("end lint")


def test_a_failure_blocks_what_needs_it_and_the_others_finish():
    order, stage = _recorder()
    into = Run()
    with pytest.raises(BuildError, match="go build failed"):
        run(
            [
                StageDef("preflight", stage("preflight")),
                StageDef("build", stage("build", fail=BuildError("go build failed"))),
                StageDef("push", stage("push"), needs=("preflight", "build")),
                StageDef("deploy", stage("deploy"), needs=("push",)),
            ],
            into=into,
        )
    statuses = {name: o.status for name, o in into.outcomes.items()}
    assert statuses == {"preflight": "ok", "build": "failed", "push": "blocked", "deploy": "blocked"}
    assert into.outcomes["push"].reason == "build did not succeed"
    assert "start push" not in order and "start deploy" not in order
    document = into.document()
    assert document["version"] == 1
    assert document["stages"][1] == {"name": "build", "status": "failed", "seconds": document["stages"][1]["seconds"],
                                     "error": "go build failed"}


def test_the_first_declared_failure_is_raised_whichever_ends_first():
    build_failed = threading.Event()
    order, stage = _recorder()
    with pytest.raises(HostUnreachable):
        run([
            # preflight fails after build did: its error is the one that matters
            StageDef("preflight", stage("preflight", wait=build_failed, fail=HostUnreachable("web1: unreachable"))),
            StageDef("build", lambda context: (build_failed.set(), (_ for _ in ()).throw(BuildError("broken")))),
        ])


def test_skipped_counts_as_success_with_its_reason():
    done = run([
        StageDef("push", lambda context: Skipped("the target loads the image", value="nothing")),
        StageDef("deploy", lambda context: context.inputs["push"], needs=("push",)),
    ])
    assert done.outcomes["push"].status == "skipped" and done.outcomes["push"].reason == "the target loads the image"
    assert done.value("deploy") == "nothing"


def test_ctrl_c_starts_no_further_stage_and_says_what_ran():
    cancel = threading.Event()
    order, stage = _recorder()

    def build(context: StageContext) -> str:
        cancel.set()  # Ctrl-C arrives while the image builds
        return "image"

    into = Run()
    with pytest.raises(Interrupted) as stopped:
        run([StageDef("build", build), StageDef("push", stage("push"), needs=("build",)),
             StageDef("deploy", stage("deploy"), needs=("push",))], cancel=cancel, into=into)
    assert stopped.value.message == "interrupted after build: push, deploy did not start"
    assert stopped.value.exit_code == 130
    assert into.outcomes["push"].status == "cancelled" and order == []


def test_a_keyboard_interrupt_while_waiting_sets_the_cancel_event():
    """The first Ctrl-C in the waiting (main) thread asks the stages to stop at a safe point."""
    cancel = threading.Event()
    seen: list[bool] = []
    calls = {"n": 0}
    import goship.stages as stages_module

    real_wait = stages_module.futures_wait

    def interrupted_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    def deploy(context: StageContext) -> None:
        deadline = time.monotonic() + 5
        while not context.cancel.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(context.cancel.is_set())
        raise Interrupted("interrupted: stopped at a safe point")

    stages_module.futures_wait = interrupted_once
    try:
        with pytest.raises(Interrupted, match="stopped at a safe point"):
            run([StageDef("deploy", deploy)], cancel=cancel)
    finally:
        stages_module.futures_wait = real_wait
    assert seen == [True] and cancel.is_set()


def test_graphs_that_cannot_run_are_refused():
    with pytest.raises(ValueError, match="needs build, not declared before it"):
        check_graph([StageDef("push", lambda c: None, needs=("build",)), StageDef("build", lambda c: None)])
    with pytest.raises(ValueError, match="declared twice"):
        check_graph([StageDef("build", lambda c: None), StageDef("build", lambda c: None)])


def test_each_stage_reports_under_its_own_name():
    reporter = CollectingReporter()
    run([StageDef("lint", lambda context: context.stage.ok("no findings"))], reporter=reporter)
    assert [(e.stage, e.message) for e in reporter.events] == [("lint", "no findings")]


def test_errors_that_are_not_goship_errors_are_raised_as_they_are():
    with pytest.raises(ZeroDivisionError):
        run([StageDef("bug", lambda context: 1 / 0)])
    assert issubclass(Interrupted, GoshipError)


def test_a_second_ctrl_c_stops_waiting_at_once_and_says_the_first(monkeypatch):
    """The second Ctrl-C does not wait for a stage that ignores the first (an upload, a stuck
    host): its thread is a daemon, left behind when goship exits."""
    import goship.stages as stages_module

    release = threading.Event()
    reporter = CollectingReporter()

    def always_interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    def stubborn(context: StageContext) -> None:
        release.wait(30)

    monkeypatch.setattr(stages_module, "futures_wait", always_interrupted)
    with pytest.raises(KeyboardInterrupt):
        run([StageDef("push", stubborn)], reporter=reporter)
    stuck = [t for t in threading.enumerate() if t.name == "goship-push"]
    assert stuck and stuck[0].daemon and stuck[0].is_alive()  # not joined
    assert [e.message for e in reporter.events] == [
        "interrupted: stopping at a safe point (Ctrl-C again to stop at once)"
    ]
    release.set()
