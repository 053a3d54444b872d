"""A new kind of deploy target is one module: a deliberately tiny one, written here,
is driven by the real command line (ship, status, releases, rollback, remove)
through the Target protocol alone, with no change in pipeline, operations or cli.

It remembers what it was asked and runs nothing; the build before it is real
(go build of examples/hello), since `goship ship` builds whatever the target.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from goship import cli
from goship.deploy import kinds
from goship.deploy.history import ReleaseRecord
from goship.deploy.release import HostResult, Release
from goship.deploy.target import DeployResult, HostStatus, ImageSource, Releases, Removed, TargetContext
from goship.project import Project

pytestmark = pytest.mark.e2e

#: What every RecordingTarget was asked, in order, across the commands of one test.
ASKED: list[str] = []
#: Its "history": (version, image tag, what it is now), oldest first.
HISTORY: list[list[str]] = []


class RecordingTarget:
    needs_registry = False

    def __init__(self, project: Project, name: str, context: TargetContext) -> None:
        self.project, self.name, self.context = project, name, context

    def _result(self, version: str) -> HostResult:
        return HostResult("recorder", f"{self.project.service}-{version}", "recorder://" + self.project.service, ())

    def preflight(self) -> None:
        ASKED.append("preflight")

    def deploy(self, release: Release, image: ImageSource) -> DeployResult:
        ASKED.append(f"deploy {release.service} {release.version} {image.tag}")
        assert image.archive()[:0] == b""  # the build is there to take
        for entry in HISTORY:
            entry[2] = "replaced" if entry[2] == "live" else entry[2]
        HISTORY.append([release.version, image.tag, "live"])
        return DeployResult(self.name, release.version, (self._result(release.version),))

    def rollback(self, version: str | None = None) -> list[HostResult]:
        ASKED.append(f"rollback {version}")
        live = next(i for i, entry in enumerate(HISTORY) if entry[2] == "live")
        HISTORY[live][2] = "rolled back"
        HISTORY[live - 1][2] = "live"
        return [self._result(HISTORY[live - 1][0])]

    def status(self) -> list[HostStatus]:
        ASKED.append("status")
        live = next(entry for entry in HISTORY if entry[2] == "live")
        return [HostStatus("recorder", f"hello-{live[0]}", live[0], live[1], "running", None, "fine", "recorder://")]

    def releases(self) -> Releases:
        ASKED.append("releases")
        records = [(ReleaseRecord(self.project.service, v, tag, "", "live", "recorder"), state) for v, tag, state in HISTORY]
        return [("recorder", records)]

    def logs(self, *, tail: int = 100, follow: bool = False) -> Iterator[tuple[str, str]]:
        yield "recorder", "no logs"

    def exec(self, command: list[str], *, interactive: bool = False,
             output: Callable[[str, str], None] | None = None) -> int:
        return 0

    def lock_status(self) -> list:
        return [("recorder", None)]

    def lock_release(self) -> list:
        return [("recorder", None)]

    def remove(self, *, purge: bool = False, proxy: bool = False) -> list[Removed]:
        ASKED.append(f"remove purge={purge}")
        HISTORY.clear()
        return [Removed("recorder", ("everything",), ())]

    def close(self) -> None:
        ASKED.append("close")


@pytest.fixture
def recording_kind() -> Iterator[None]:
    ASKED.clear()
    HISTORY.clear()
    kinds.register("recording", RecordingTarget)
    yield
    kinds.unregister("recording")


def _goship(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``goship ARGS`` in this process (where the kind is registered): what it printed."""
    try:
        cli.main([*args])
    except SystemExit as ended:
        assert ended.code in (0, None), capsys.readouterr().err
    return capsys.readouterr().out


def test_a_target_written_in_a_test_is_driven_by_the_command_line(recording_kind, hello: Path, capsys, monkeypatch):
    (hello / "goship.yaml").write_text("service: hello\ntargets:\n  recorder:\n    kind: recording\n")
    monkeypatch.setenv("GOTOOLCHAIN", "local")
    where = ("-C", str(hello))

    first = _goship(capsys, "ship", "recorder", *where)
    assert "live at recorder://hello  (recorder, src-" in first
    (hello / "main.go").write_text((hello / "main.go").read_text().replace("Hello from goship!", "Hello again!"))
    _goship(capsys, "ship", "recorder", *where)
    v1, v2 = HISTORY[0][0], HISTORY[1][0]
    assert v1 != v2 and [entry[2] for entry in HISTORY] == ["replaced", "live"]

    status = _goship(capsys, "status", "recorder", *where)
    assert f"recorder: running  version={v2}" in status

    _goship(capsys, "rollback", "recorder", *where)
    releases = _goship(capsys, "releases", "recorder", "--json", *where)
    assert [(r["version"], r["state"]) for r in json.loads(releases)["releases"]] == [
        (v1, "live"), (v2, "rolled back"),
    ]

    removed = _goship(capsys, "remove", "recorder", "--yes", *where)
    assert "recorder: removed everything" in removed
    # Each command opened the target once and closed it; ship checked it before building.
    assert [a for a in ASKED if not a.startswith("deploy")] == [
        "preflight", "close", "preflight", "close", "status", "close", "rollback None", "close",
        "releases", "close", "remove purge=False", "close",
    ]
    assert [a.split(" ")[:3] for a in ASKED if a.startswith("deploy")] == [["deploy", "hello", v1], ["deploy", "hello", v2]]


def test_an_unknown_kind_is_refused_at_its_line(hello: Path, capsys):
    (hello / "goship.yaml").write_text("service: hello\ntargets:\n  recorder:\n    kind: recordin\n")
    with pytest.raises(SystemExit) as ended:
        cli.main(["status", "recorder", "-C", str(hello)])
    assert ended.value.code != 0
    err = capsys.readouterr().err
    assert "goship.yaml:4" in err and "targets.recorder.kind" in err and "'recordin'" in err and "'hosts'" in err
