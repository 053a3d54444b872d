"""``make demo`` and the README's demo curl the address goship gave the service (``goship status --json``),
not ``http://localhost:8000/``: when another goship service holds the local proxy's catch-all, that
address is ``http://hello.localhost:8000`` and the bare port shows the other service's page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import readme

ROOT = Path(__file__).resolve().parents[2]


def _demo_recipe() -> str:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("demo:"))) + 1
    recipe = []
    for line in lines[start:]:
        if not line.startswith("\t"):
            break
        recipe.append(line)
    return "\n".join(recipe)


def _demo_block() -> str:
    [block] = [b for b in readme.command_blocks() if b.context == "demo"]
    return block.text


def _url_printed_by(program: str, status_lines: str) -> str:
    """What the shell pipeline's Python part prints for these lines of 'goship status --json'."""
    match = re.search(r"-c '([^']*)'", program)
    assert match is not None, program
    done = subprocess.run([sys.executable, "-c", match.group(1)], input=status_lines, capture_output=True,
                          text=True, timeout=30, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("where", [_demo_recipe, _demo_block], ids=["make demo", "README demo"])
def test_the_demo_curls_the_address_goship_reports(where):
    text = where()
    assert "localhost:8000" not in text
    assert "goship status -C examples/hello --json" in text and "curl" in text
    row = {"host": "local", "state": "running", "url": "http://hello.localhost:8000"}
    document = json.dumps({"target": "local", "hosts": [row]}, indent=2)  # as goship status --json prints it
    assert _url_printed_by(text, document + "\n") == "http://hello.localhost:8000"
