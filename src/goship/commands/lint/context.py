"""The build context as Docker would send it: the directory minus .dockerignore.

This is lint's only file-system reader for the context. Rules get a
``BuildContext`` and ask it for the file list, sizes and the first bytes of
scripts; the walk happens once and skips excluded trees (``.git``,
``node_modules``) without entering them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from goship.dockerfiles.ignore import IgnoreMatcher


@dataclass(frozen=True)
class ContextFile:
    #: '/'-separated, relative to the context root.
    path: str
    size: int


class BuildContext:
    """Files under ``root`` that ``docker build`` would send, given ``matcher``."""

    def __init__(self, root: Path, matcher: IgnoreMatcher | None = None) -> None:
        self.root = root
        self.matcher = matcher
        self._files: list[ContextFile] | None = None

    def _excluded(self, rel: str) -> bool:
        return self.matcher is not None and self.matcher.excluded(rel)

    def files(self) -> list[ContextFile]:
        """Every regular file and symlink sent, sorted by path (walked once)."""
        if self._files is None:
            self._files = sorted(self._walk(), key=lambda f: f.path)
        return self._files

    def _walk(self) -> list[ContextFile]:
        found: list[ContextFile] = []
        stack: list[tuple[Path, str]] = [(self.root, "")]
        while stack:
            directory, prefix = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue  # unreadable: docker build would fail on it, not lint
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    size = 0 if is_dir else entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                excluded = self._excluded(rel)
                if is_dir:
                    if excluded and not (self.matcher and self.matcher.may_include_below(rel)):
                        continue
                    stack.append((Path(entry.path), rel + "/"))
                elif not excluded:
                    found.append(ContextFile(rel, size))
        return found

    def total_size(self) -> int:
        return sum(f.size for f in self.files())

    def biggest(self, count: int = 5) -> list[tuple[str, int]]:
        """The largest top-level entries (a directory counts with everything sent below it)."""
        totals: dict[str, int] = {}
        for f in self.files():
            top, sep, _ = f.path.partition("/")
            key = top + "/" if sep else top
            totals[key] = totals.get(key, 0) + f.size
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:count]

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def head(self, rel: str, size: int = 4096) -> bytes:
        """The first ``size`` bytes of a context file (b"" when unreadable)."""
        try:
            with (self.root / rel).open("rb") as handle:
                return handle.read(size)
        except OSError:
            return b""


def format_size(size: int) -> str:
    """1536 -> '1.5 KB', 104857600 -> '100 MB' (binary units, as docker prints)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
