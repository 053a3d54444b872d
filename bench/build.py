"""Build and push cost, side by side in one run: the two Dockerfiles users
start from, goship's generated Dockerfile, and goship's native builder,
against the host's own incremental ``go build`` as the floor.

Run by hand (needs the test-bed engine; starts its own registry):

    .venv/bin/python bench/build.py [ROUNDS]

For each way of building examples/hello it measures a cold build (BuildKit's
cache pruned, base images present), then ROUNDS one-line code changes:
rebuild alone, rebuild + push through goship's registry client, and the bytes
that push uploaded. Ratios are against the seed multi-stage rebuild, the
number the issue sets the target by.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testbed import engine, images, registry
from tests.e2e.test_docker_builder import MULTI_STAGE, SINGLE_STAGE

ENV = {
    **os.environ,
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    "GOTOOLCHAIN": "local",
}


@dataclass
class Row:
    name: str
    cold: float = 0.0
    rebuild: float = 0.0
    rebuild_push: float = 0.0
    image_bytes: int = 0
    pushed_bytes: int = 0


def _touch(project: Path, n: int) -> None:
    main = project / "main.go"
    text = main.read_text()
    start = text.index('const greeting = "') + len('const greeting = "')
    main.write_text(text[:start] + f"Hello #{n}" + text[text.index('"', start):])


def _goship(project: Path, *args: str) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "goship", *args, "-C", str(project), "--json"],
                          env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"goship {' '.join(args)} failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed, [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def _pushed_bytes(events: list[dict]) -> int:
    return sum(int(e["data"].get("uploaded_bytes", 0)) for e in events if e["stage"] == "push" and e["level"] == "ok")


def _image_bytes(project: Path) -> int:
    layout = project / ".goship" / "oci"
    index = json.loads((layout / "index.json").read_text())
    top = next(d for d in index["manifests"] if not d.get("artifactType"))
    manifest = json.loads((layout / "blobs" / "sha256" / top["digest"].split(":")[1]).read_text())
    return int(manifest["config"]["size"]) + sum(int(layer["size"]) for layer in manifest["layers"])


def _prune_buildkit() -> None:
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, timeout=300)


def _measure(name: str, project: Path, builder: str, rounds: int, counter: list[int]) -> Row:
    row = Row(name)
    _prune_buildkit()
    row.cold, _ = _goship(project, "build", "--builder", builder)
    row.image_bytes = _image_bytes(project)
    _goship(project, "push")
    builds, pushes, pushed = [], [], []
    for _ in range(rounds):
        counter[0] += 1
        _touch(project, counter[0])
        t, _ = _goship(project, "build", "--builder", builder)
        builds.append(t)
        counter[0] += 1
        _touch(project, counter[0])
        t, events = _goship(project, "build", "--builder", builder, "-o", "registry")
        pushes.append(t)
        pushed.append(_pushed_bytes(events))
    row.rebuild, row.rebuild_push = statistics.median(builds), statistics.median(pushes)
    row.pushed_bytes = int(statistics.median(pushed))
    return row


def _go_build_floor(project: Path, rounds: int, counter: list[int]) -> Row:
    env = {**ENV, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"}
    argv = ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(project.parent / "bin"), "."]
    start = time.perf_counter()
    subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True)
    row = Row("host go build alone (floor)", cold=time.perf_counter() - start)
    times = []
    for _ in range(rounds):
        counter[0] += 1
        _touch(project, counter[0])
        start = time.perf_counter()
        subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    row.rebuild = statistics.median(times)
    return row


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    engine.ensure_dockerd(Path(tempfile.gettempdir()) / "goship-testbed" / "engine")
    images.seed_go_images()
    images.seed_alpine_image()
    counter = [0]
    with tempfile.TemporaryDirectory(prefix="goship-bench-") as tmp:
        reg = registry.start_registry(Path(tmp) / "registry", host="127.0.0.1")
        try:
            variants = []
            generated = subprocess.run([sys.executable, "-m", "goship", "dockerfile", "-C", str(REPO / "examples/hello")],
                                       env=ENV, capture_output=True, text=True, check=True).stdout
            for key, name, builder, dockerfile in (
                ("single", "seed single-stage Dockerfile", "docker", SINGLE_STAGE),
                ("multi", "seed multi-stage Dockerfile (alpine)", "docker", MULTI_STAGE),
                ("generated", "goship dockerfile + BuildKit", "docker", generated),
                ("native", "goship native builder", "native", None),
            ):
                project = Path(tmp) / key / "hello"
                shutil.copytree(REPO / "examples/hello", project, ignore=shutil.ignore_patterns(".goship", "goship.yaml"))
                (project / "go.sum").write_text("")
                if dockerfile:
                    (project / "Dockerfile").write_text(dockerfile)
                (project / "goship.yaml").write_text(f"image: {reg.addr}/bench/{key}\nregistry:\n  insecure: true\n")
                variants.append((name, project, builder))
            rows = [_measure(name, project, builder, rounds, counter) for name, project, builder in variants]
            rows.append(_go_build_floor(variants[-1][1], rounds, counter))
        finally:
            reg.stop()
    multi = rows[1]
    print(f"examples/hello; one-line code change, median of {rounds} rounds; BuildKit cache pruned before each cold build")
    header = f"{'way of building':<40}{'cold s':>8}{'rebuild s':>11}{'+push s':>9}{'vs multi':>10}{'image KB':>10}{'pushed KB':>11}"
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = multi.rebuild / row.rebuild_push if row.rebuild_push else multi.rebuild / row.rebuild
        push = f"{row.rebuild_push:>9.2f}" if row.rebuild_push else f"{'-':>9}"
        size = f"{row.image_bytes / 1024:>10.0f}" if row.image_bytes else f"{'-':>10}"
        pushed = f"{row.pushed_bytes / 1024:>11.0f}" if row.image_bytes else f"{'-':>11}"
        print(f"{row.name:<40}{row.cold:>8.2f}{row.rebuild:>11.2f}{push}{ratio:>9.1f}x{size}{pushed}")
    native, floor = rows[3], rows[4]
    print()
    print(f"native rebuild+push vs seed multi-stage rebuild: {multi.rebuild / native.rebuild_push:.1f}x faster (target >= 10x)")
    print(f"native rebuild+push minus host go build: {native.rebuild_push - floor.rebuild:+.2f} s (target < 1 s)")
    print(f"native rebuild alone minus host go build: {native.rebuild - floor.rebuild:+.2f} s")


if __name__ == "__main__":
    main()
