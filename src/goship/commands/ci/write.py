"""Writing a workflow file: never over one goship did not write (without --force); --dry-run shows the diff."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from goship.commands.ci.workflows import MARK
from goship.errors import ProjectError

#: Where each CI system reads its workflow, from the repository's root.
WORKFLOW_PATHS = {"github": Path(".github/workflows/goship.yml"), "gitlab": Path(".gitlab-ci.yml")}


@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool
    diff: str


def write_workflow(path: Path, text: str, *, force: bool = False, dry_run: bool = False) -> Written:
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if old is not None and not old.startswith(MARK) and not force and not dry_run:
        raise ProjectError(
            f"{path} exists and was not written by goship ci: not overwriting it",
            hint="pass --force to replace it (--dry-run shows the difference first)",
        )
    diff = "".join(difflib.unified_diff(
        (old or "").splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=f"a/{path.name}" if old is not None else "/dev/null", tofile=f"b/{path.name}",
    ))
    if not dry_run and old != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return Written(path, old != text, diff)
