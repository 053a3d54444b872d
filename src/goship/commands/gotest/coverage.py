"""The total statement coverage of a ``-coverprofile`` (pure), as ``go tool cover -func`` sums it."""

from __future__ import annotations

import re

_BLOCK = re.compile(r"^(.+:\d+\.\d+,\d+\.\d+) (\d+) (\d+)$")


def total(profile: str) -> float | None:
    """Percent of statements run at least once; None for a profile with no statements.

    A block listed twice (several packages' runs in one profile) counts once,
    covered if any run covered it.
    """
    blocks: dict[str, tuple[int, bool]] = {}
    for line in profile.splitlines():
        match = _BLOCK.match(line.strip())
        if not match:
            continue  # "mode: set"
        key, statements, count = match.group(1), int(match.group(2)), int(match.group(3))
        seen = blocks.get(key)
        blocks[key] = (statements, count > 0 or (seen is not None and seen[1]))
    statements = sum(n for n, _ in blocks.values())
    if statements == 0:
        return None
    return 100.0 * sum(n for n, covered in blocks.values() if covered) / statements
