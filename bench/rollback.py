"""Rollback against a full redeploy of the same service, in one run.

Run by hand (needs Docker; the test-bed starts one if none answers):
``.venv/bin/python bench/rollback.py [ROUNDS]``. Ships examples/hello to the
local engine twice, then alternates ``goship rollback`` with ``goship ship``
of a one-line change; prints medians and the ratio.
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
sys.path.insert(0, str(REPO))

from testbed import engine, images

ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    "GOTOOLCHAIN": "local",
}


def goship(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "goship", *args], env=ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    engine.ensure_dockerd(Path(tempfile.gettempdir()) / "goship-bench-engine")
    images.seed_caddy_image("caddy:2")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "benchsvc"
        shutil.copytree(REPO / "examples/hello", project, ignore=shutil.ignore_patterns(".goship"))
        (project / "goship.yaml").write_text("service: benchsvc\nproxy:\n  port: 18099\ndeploy:\n  drain: 1s\n")
        main_go = project / "main.go"
        original = main_go.read_text()
        ships, rollbacks = [], []
        try:
            goship("ship", "-C", str(project))
            for n in range(rounds):
                main_go.write_text(original.replace("Hello from goship!", f"Hello #{n}"))
                ships.append(goship("ship", "-C", str(project)))
                rollbacks.append(goship("rollback", "-C", str(project)))
        finally:
            # Leaves nothing on the engine: containers, route, proxy, volumes, history.
            goship("remove", "--yes", "--purge", "-C", str(project))
    s, r = statistics.median(ships), statistics.median(rollbacks)
    print(f"local engine, median of {rounds} rounds")
    print(f"{'operation':<48}{'seconds':>9}{'ratio':>8}")
    print(f"{'goship ship after a one-line change (baseline)':<48}{s:>9.2f}{1.0:>8.2f}")
    print(f"{'goship rollback to the previous release':<48}{r:>9.2f}{r / s:>8.2f}")


if __name__ == "__main__":
    main()
