"""Rebuild cost of a one-line code change: goship's native build against
the plain ``go build`` it wraps, in the same run (ratios, not seconds).

Run by hand: ``.venv/bin/python bench/build.py [ROUNDS]``. Works on a copy of
examples/hello in a temporary directory; uses no Docker and no network.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    "GOTOOLCHAIN": "local",
    "CGO_ENABLED": "0",
    "GOOS": "linux",
    "GOARCH": "amd64",
}


def _touch(project: Path, n: int) -> None:
    main = project / "main.go"
    text = main.read_text()
    start = text.index('const greeting = "') + len('const greeting = "')
    main.write_text(text[:start] + f"Hello #{n}" + text[text.index('"', start):])


def _timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "hello"
        shutil.copytree(REPO / "examples/hello", project, ignore=shutil.ignore_patterns(".goship"))
        go = ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(Path(tmp) / "bin"), "."]
        goship = [sys.executable, "-m", "goship", "build", "-C", str(project)]
        _timed(go, project)  # warm the build cache once, as a developer's machine is
        plain, native = [], []
        for n in range(rounds):
            _touch(project, 2 * n)
            plain.append(_timed(go, project))
            _touch(project, 2 * n + 1)
            native.append(_timed(goship, project))
    p, g = statistics.median(plain), statistics.median(native)
    print(f"one-line change, median of {rounds} rounds")
    print(f"{'step':<44}{'seconds':>9}{'ratio':>8}")
    print(f"{'go build (baseline)':<44}{p:>9.2f}{1.0:>8.2f}")
    print(f"{'goship build (go build + OCI image)':<44}{g:>9.2f}{g / p:>8.2f}")
    print(f"{'goship overhead over go build':<44}{g - p:>9.2f}")


if __name__ == "__main__":
    main()
