"""The README's command blocks, as the tests read them.

Every ```sh block of README.md is a command a user is told to run, and is
marked on the line above it (invisible on GitHub):

    <!-- readme-test: run CONTEXT -->      run as written, in that context
    <!-- readme-test: skip: REASON -->     not run here, and why

tests/e2e/test_readme.py runs the ``run`` blocks in README order; a block
without a mark fails tests/unit/test_readme_blocks.py, so none is skipped
silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

#: Where a block runs (see tests/e2e/test_readme.py): a clone after 'make demo';
#: a module with a 'production' target; a fresh module to init and lint.
CONTEXTS = ("demo", "production", "init")

_MARK = re.compile(r"^<!-- readme-test: (?:run (?P<context>[\w-]+)|skip: (?P<reason>.+?)) -->$")
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")

#: Filled by the README test: one line per block, ran or skipped and why, for the summary.
REPORT: list[str] = []


@dataclass(frozen=True)
class Block:
    #: the line of the opening fence.
    line: int
    lang: str
    text: str
    #: the line above the fence, or "" when it is not a mark.
    mark: str
    context: str | None
    reason: str | None

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README, with the mark above it (if any)."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        above = lines[index - 1].strip() if index else ""
        mark = _MARK.match(above)
        found.append(Block(
            line=index + 1, lang=opening.group("lang"), text="\n".join(lines[index + 1 : end]) + "\n",
            mark=above if mark else "",
            context=mark.group("context") if mark else None, reason=mark.group("reason") if mark else None,
        ))
        index = end + 1
    return found


def command_blocks(text: str | None = None) -> list[Block]:
    """The blocks a user is told to run: the ```sh ones."""
    return [block for block in blocks(text) if block.lang in ("sh", "shell", "bash", "console")]
