"""The test-bed's record of what it started, in one JSON file.

Why: a test session, ``make demo`` and ``python -m testbed down`` are separate
processes. Each start records the pid (and a command-line marker that guards
against pid reuse) here, so ``down`` can stop exactly those processes later.
A lock file serialises writers (pytest-xdist workers, a parallel ``make``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV_VAR = "GOSHIP_TESTBED_STATE"
DEFAULT_DIR = Path("/tmp/goship-testbed")


def state_dir() -> Path:
    """The state directory: $GOSHIP_TESTBED_STATE or /tmp/goship-testbed."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


@contextlib.contextmanager
def edit(directory: Path | None = None) -> Iterator[dict[str, Any]]:
    """Yield the state dict under an exclusive lock; it is written back on exit."""
    directory = directory or state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "state.json"
    with open(directory / "state.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            data = {}
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(path)


def record(section: str, key: str, entry: dict[str, Any] | None) -> None:
    """Set (or with None, remove) state[section][key]."""
    with edit() as data:
        bucket = data.setdefault(section, {})
        if entry is None:
            bucket.pop(key, None)
        else:
            bucket[key] = entry


def load(directory: Path | None = None) -> dict[str, Any]:
    """A snapshot of the state (read-only use)."""
    with edit(directory) as data:
        snapshot: dict[str, Any] = json.loads(json.dumps(data))
        return snapshot
