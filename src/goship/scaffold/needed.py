"""Which paths of a build context the Go build needs, so .dockerignore keeps them.

A default exclusion such as ``bin`` or ``dist`` is wrong for a module whose
Go package lives in ``bin/`` or whose ``//go:embed dist`` reads the frontend's
build output: the Dockerfile's ``go build`` then fails. ``blocked_exclusions``
says which exclusions would hide such a path, and why.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

__all__ = ["blocked_exclusions", "embed_patterns", "needed_paths"]

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


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over a context-relative path."""
    pattern = pattern.strip().lstrip("/")
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(char)
            else:
                out += "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]"
                i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out)


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def blocked_exclusions(entries: list[str], needed: dict[str, str]) -> dict[str, str]:
    """{exclusion: why it must be left out} for the entries that would hide a needed path
    (the path itself or a directory above it)."""
    blocked: dict[str, str] = {}
    for entry in entries:
        if not entry or entry.startswith(("#", "!")):
            continue
        regex = _pattern_regex(entry)
        for path, why in needed.items():
            if any(regex.fullmatch(part) for part in _ancestors(path)):
                blocked[entry] = why
                break
    return blocked
