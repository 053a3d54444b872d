"""Go workspaces (``go.work``): which modules build together, from where.

A module in a workspace compiles against its sibling modules' sources, so a
container build of it needs the whole workspace as its context, not just
the module's directory. Reading go.work is pure file inspection, like
``goship.project`` does for go.mod.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from goship.errors import ProjectError

_USE_BLOCK = re.compile(r"^\s*use\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_USE_LINE = re.compile(r"^\s*use\s+(?!\()(\S+)", re.MULTILINE)
_REQUIRE_BLOCK = re.compile(r"^\s*require\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_REQUIRE_LINE = re.compile(r"^\s*require\s+(?!\()(\S+)\s+v", re.MULTILINE)
_REPLACE_LINE = re.compile(r"^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+(\S+)", re.MULTILINE)


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def parse_go_work(text: str) -> tuple[str, ...]:
    """The ``use`` directories of a go.work, '/'-separated, as written."""
    text = _strip_comments(text)
    uses: list[str] = []
    for block in _USE_BLOCK.findall(text):
        uses += [line.strip().strip('"') for line in block.splitlines() if line.strip()]
    uses += [u.strip('"') for u in _USE_LINE.findall(text)]
    return tuple(u.replace("\\", "/") for u in uses)


def go_mod_requires(text: str) -> set[str]:
    """Module paths a go.mod requires (single lines and blocks)."""
    text = _strip_comments(text)
    found = set(_REQUIRE_LINE.findall(text))
    for block in _REQUIRE_BLOCK.findall(text):
        found |= {line.split()[0] for line in block.splitlines() if len(line.split()) >= 2}
    return found


def go_mod_local_replaces(text: str) -> set[str]:
    """Module paths a go.mod replaces with a local directory (never downloaded)."""
    text = _strip_comments(text)
    return {old for old, new in _REPLACE_LINE.findall(text) if new.startswith((".", "/"))}


@dataclass(frozen=True)
class Workspace:
    """A go.work and its modules, as directories relative to the workspace root."""

    root: Path
    modules: tuple[str, ...]
    #: Some module requires a sibling at a version no proxy has (the
    #: workspace resolves it from source): 'go mod download' cannot run
    #: before the sources are present.
    cross_requires: bool = False

    def relative(self, module_root: Path) -> str:
        """The module's directory relative to the workspace root ('.' for the root)."""
        rel = module_root.resolve().relative_to(self.root.resolve()).as_posix()
        return rel or "."


def _module_path(go_mod: Path) -> str | None:
    try:
        text = go_mod.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(r"^\s*module\s+\"?([^\s\"]+)", _strip_comments(text), re.MULTILINE)
    return match.group(1) if match else None


def find_workspace(module_root: Path) -> Workspace | None:
    """The go.work (in module_root or a parent) that uses this module, if any.

    ``GOWORK=off`` (or a GOWORK naming another file) is honoured as go does.
    """
    gowork = os.environ.get("GOWORK", "")
    if gowork == "off":
        return None
    module_root = module_root.resolve()
    if gowork:
        candidates = [Path(gowork).resolve()]
    else:
        candidates = [d / "go.work" for d in (module_root, *module_root.parents)]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            uses = parse_go_work(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{path}: cannot read: {exc}") from None
        root = path.parent
        dirs = []
        for use in uses:
            full = (root / use).resolve()
            if not full.is_relative_to(root):
                raise ProjectError(
                    f"{path}: module {use!r} is outside the workspace directory",
                    hint="a container build sends only the workspace directory to the engine; "
                    "move the module under it",
                )
            dirs.append(full.relative_to(root).as_posix() or ".")
        if not module_root.is_relative_to(root) or module_root.relative_to(root).as_posix() not in dirs:
            return None  # a go.work that does not use this module does not apply to it
        return Workspace(root=root, modules=tuple(dirs), cross_requires=_cross_requires(root, dirs))
    return None


def _cross_requires(root: Path, dirs: list[str]) -> bool:
    paths = {d: _module_path(root / d / "go.mod") for d in dirs}
    siblings = {p for p in paths.values() if p}
    for d in dirs:
        try:
            text = (root / d / "go.mod").read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        if (go_mod_requires(text) & siblings) - go_mod_local_replaces(text):
            return True
    return False
