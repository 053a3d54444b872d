""".dockerignore patterns with Docker's own semantics (moby/patternmatcher).

* one pattern a line; blank lines and lines starting with ``#`` are skipped;
* ``!pattern`` re-includes what an earlier pattern excluded; the last
  pattern that matches a path decides;
* paths are relative to the context root: a leading ``/`` or ``./`` means
  nothing, and patterns are cleaned like Go's ``filepath.Clean``;
* ``*`` and ``?`` never cross a ``/``; ``**`` matches any number of
  directories, including none; ``[...]`` is a character class;
* a pattern that matches a directory excludes everything below it.

Pure: the matcher never touches the file system.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]
    line: int


def _clean(pattern: str) -> str:
    cleaned = posixpath.normpath(pattern)
    cleaned = cleaned.lstrip("/")
    return "." if cleaned in ("", ".") else cleaned


def _to_regex(pattern: str) -> re.Pattern[str]:
    """Translate like patternmatcher's ``compile``: ``**`` spans directories, ``*`` does not."""
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out))
    except re.error:
        return re.compile(re.escape(pattern) + "$")


def parse_dockerignore(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore, with their line numbers."""
    patterns: list[Pattern] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
            if not line:
                continue
        cleaned = _clean(line)
        patterns.append(Pattern(text=cleaned, exclusion=exclusion, regex=_to_regex(cleaned), line=number))
    return patterns


class IgnoreMatcher:
    """Decides whether a context path is left out of the build context."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self.has_exceptions = any(p.exclusion for p in patterns)

    @classmethod
    def from_text(cls, text: str) -> IgnoreMatcher:
        return cls(parse_dockerignore(text))

    def excluded(self, path: str) -> bool:
        """``path`` is '/'-separated and relative to the context root."""
        return self.excluding(path) is not None

    def excluding(self, path: str) -> Pattern | None:
        """The pattern that leaves ``path`` out of the context (the last match
        that no exception undid), or None when it is sent."""
        path = path.strip("/")
        parent = posixpath.dirname(path)
        parents = parent.split("/") if parent else []
        matched: Pattern | None = None
        for pattern in self.patterns:
            # Only an exception can undo a match, only an exclusion can make one.
            if (matched is not None) != pattern.exclusion:
                continue
            hit = pattern.regex.match(path) is not None
            if not hit:
                for i in range(len(parents)):
                    if pattern.regex.match("/".join(parents[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = None if pattern.exclusion else pattern
        return matched

    def may_include_below(self, directory: str) -> bool:
        """Could an exception re-include something under an excluded ``directory``?

        Used to skip whole excluded trees (.git, node_modules) while walking.
        """
        if not self.has_exceptions:
            return False
        prefix = directory.strip("/") + "/"
        for pattern in self.patterns:
            if not pattern.exclusion:
                continue
            if pattern.text.startswith(prefix) or pattern.text[:1] in ("*", "?", "[") or "**" in pattern.text:
                return True
        return False
