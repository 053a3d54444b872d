"""The files ``goship init`` plans, what it does with each, and writing them.

Each planned file has an action decided up front, so ``--dry-run`` (a diff
of the plan), the real run (``write_plan``) and ``--json`` (``plan_report``)
all say the same thing:

- create: the file is not there;
- keep: it is there and differs, and there is no ``--force``: left alone;
- replace: it is there and differs, and ``--force`` replaces it;
- append: .gitattributes is there and lacks some LF rules: they are added;
- unchanged: it is there with exactly this content.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goship.commands.init.files import InitAnswers

CREATE, KEEP, REPLACE, APPEND, UNCHANGED = "create", "keep", "replace", "append", "unchanged"


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    #: what the file will hold (for keep: what init would have written).
    content: str
    #: what is on disk now; None when the file does not exist (or cannot be read).
    existing: str | None
    action: str = CREATE

    @property
    def changed(self) -> bool:
        return self.action in (CREATE, REPLACE, APPEND)


@dataclass(frozen=True)
class Found:
    """A value init settled on and where it came from, for --json."""

    value: str | int
    source: str
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitPlan:
    root: Path
    answers: InitAnswers
    files: tuple[PlannedFile, ...]
    #: what init decided on its own or could not find, for the user to read.
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: a directory to create first (``--new``).
    create_dir: Path | None = None
    #: main, port and health: the value and where it came from.
    found: dict[str, Found] = field(default_factory=dict)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def planned(path: Path, content: str, force: bool, merge: Callable[[str], str] | None = None) -> PlannedFile:
    """What to do with ``path``: ``merge`` (for .gitattributes) adds to an
    existing file instead of keeping or replacing it."""
    if not path.exists():
        return PlannedFile(path, content, None, CREATE)
    existing = _read(path)
    if existing is None:  # there but unreadable: never touched without --force
        return PlannedFile(path, content, None, REPLACE if force else KEEP)
    if merge is not None:
        merged = merge(existing)
        return PlannedFile(path, merged, existing, UNCHANGED if merged == existing else APPEND)
    if existing == content:
        return PlannedFile(path, content, existing, UNCHANGED)
    return PlannedFile(path, content, existing, REPLACE if force else KEEP)


def display(path: Path, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def kept_notes(files: tuple[PlannedFile, ...], root: Path) -> list[str]:
    notes = []
    for item in files:
        name = display(item.path, root)
        if item.action == KEEP:
            notes.append(f"kept {name} (exists; --force replaces it); check it with goship lint")
            if item.path.name == "Dockerfile":
                notes.append(
                    f"goship build builds natively from the Go sources; set build.builder: docker in "
                    f"goship.yaml (or pass --builder docker) to build with {name}"
                )
        elif item.action == APPEND:
            notes.append(f"{name} exists: adding the LF rules it lacks")
    return notes


def render_diff(plan: InitPlan, base: Path | None = None) -> str:
    """A unified diff of every file the plan writes against what is on disk."""
    base = base or plan.root
    chunks: list[str] = []
    for item in plan.files:
        if not item.changed:
            continue
        name = display(item.path, base)
        old = (item.existing or "").splitlines(keepends=True)
        chunks += difflib.unified_diff(
            old,
            item.content.splitlines(keepends=True),
            fromfile=f"a/{name}" if item.existing is not None else "/dev/null",
            tofile=f"b/{name}",
        )
    return "".join(chunks)


def write_plan(plan: InitPlan) -> list[PlannedFile]:
    """Write the files the plan creates, replaces or appends to; the written ones."""
    if plan.create_dir is not None:
        plan.create_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for item in plan.files:
        if not item.changed:
            continue
        # newline="\n": Dockerfiles and scripts must stay LF, on Windows too.
        with open(item.path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(item.content)
        written.append(item)
    return written


def plan_report(plan: InitPlan, *, dry_run: bool) -> dict[str, Any]:
    """The JSON document of ``goship init --json``."""
    report: dict[str, Any] = {
        "root": str(plan.root),
        "dry_run": dry_run,
        "files": [
            {"path": display(item.path, plan.root), "action": item.action, "written": item.changed and not dry_run}
            for item in plan.files
        ],
        "detected": {
            "service": plan.answers.service,
            **{
                key: {"value": found.value, "source": found.source, **({"others": list(found.others)} if found.others else {})}
                for key, found in plan.found.items()
            },
        },
        "notes": list(plan.notes),
        "warnings": list(plan.warnings),
    }
    if dry_run:
        report["diff"] = render_diff(plan)
    return report
