"""Which paths of a build context the Go build needs, so .dockerignore keeps them.

A default exclusion such as ``bin`` or ``dist`` is wrong for a module whose
Go package lives in ``bin/`` or whose ``//go:embed dist`` reads the frontend's
build output: the Dockerfile's ``go build`` then fails. ``blocked_exclusions``
says which exclusions would hide such a path, and why; so is one that hides
what a kept Dockerfile COPYs (``COPY dist/$TARGETOS/$TARGETARCH/app /``).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from goship.dockerfiles.ignore import IgnoreMatcher
from goship.dockerfiles.parse import context_sources, parse_dockerfile
from goship.errors import DockerfileError

__all__ = ["blocked_exclusions", "dockerfile_needs", "embed_patterns", "needed_paths"]

_EMBED = re.compile(r"^[ \t]*//go:embed[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_SKIP_DIRS = {"node_modules"}
_MAX_FILES = 20000


def embed_patterns(source: str) -> list[tuple[int, str]]:
    """(line, pattern) of every ``//go:embed`` pattern, without an ``all:`` prefix."""
    found: list[tuple[int, str]] = []
    for match in _EMBED.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        text = match.group(1).replace("`", '"')
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        found += [(line, word.removeprefix("all:")) for word in words if word]
    return found


def needed_paths(root: Path) -> dict[str, str]:
    """{path relative to root: why the build needs it}: every .go file, and what
    each ``//go:embed`` pattern names (the pattern itself, and any files it matches)."""
    needed: dict[str, str] = {}
    count = 0
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        base = Path(directory)
        for name in sorted(files):
            if not name.endswith(".go"):
                continue
            count += 1
            if count > _MAX_FILES:
                return needed
            path = base / name
            rel = path.relative_to(root).as_posix()
            needed.setdefault(rel, f"holds Go code ({rel})")
            try:
                source = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if "go:embed" not in source:
                continue
            package = base.relative_to(root).as_posix()
            for line, pattern in embed_patterns(source):
                joined = pattern if package == "." else f"{package}/{pattern}"
                why = f"read by //go:embed {pattern} in {rel}:{line}"
                needed.setdefault(joined, why)
                try:
                    matches = list(base.glob(pattern))
                except (ValueError, NotImplementedError):
                    matches = []
                for match in matches:
                    needed.setdefault(match.relative_to(root).as_posix(), why)
    return needed


def dockerfile_needs(text: str, name: str = "Dockerfile") -> dict[str, str]:
    """{context path: why}: what the Dockerfile's COPY and ADD lines read (the
    known part of each source: ``dist`` for ``COPY dist/$TARGETOS/app /``)."""
    try:
        parsed = parse_dockerfile(text, name)
    except DockerfileError:
        return {}  # lint reports a Dockerfile that does not parse; init keeps it as it is
    return {
        source.path: f"read by {source.instruction.keyword} {source.written} in {name}:{source.instruction.line}"
        for source in context_sources(parsed)
        if source.path
    }


def blocked_exclusions(entries: list[str], needed: dict[str, str]) -> dict[str, str]:
    """{exclusion: why it must be left out} for the entries that would hide a needed path
    (the path itself or a directory above it)."""
    blocked: dict[str, str] = {}
    for entry in entries:
        if not entry or entry.startswith(("#", "!")):
            continue
        matcher = IgnoreMatcher.from_text(entry)
        for path, why in needed.items():
            if matcher.excluded(path):
                blocked[entry] = why
                break
    return blocked
