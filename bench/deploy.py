"""Deploy speed: goship's Engine API seam against the CLI-per-action way it replaced.

Run by hand on the test-bed machine (root; starts its own registry and four
SSH test hosts in network namespaces, stops them at the end):

    .venv/bin/python bench/deploy.py [ROUNDS] [--baseline REV]

The baseline is goship as it was at REV (default: the last commit before
the engine seam, which ran one ``docker`` CLI process over SSH per action;
any other commit compares a change with what came before it),
checked out from git history into a temporary directory and run from its
sources. Both run in the same session against the same hosts and registry,
each with its own service name and proxy port. Printed: medians of ROUNDS
one-line changes, old next to new, and the targets of issue 11.
"""

from __future__ import annotations

import argparse
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

from testbed import engine, hosts, images, registry

BASELINE = "60d325f"  # the last commit before the engine seam
HOSTS = (21, 22, 23, 24)  # test-host indexes of their own (the suite uses 1, 2, ...)


def _env(src: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "GOTOOLCHAIN": "local",
        "PYTHONPATH": str(src),
    }


def _run(src: Path, project: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "goship", *args, "-C", str(project)], env=_env(src),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"goship {' '.join(args)} failed:\n{done.stderr}")
    return seconds


def _help(src: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "goship", "--help"], env=_env(src), capture_output=True, check=True)
    return time.perf_counter() - start


def _greet(project: Path, text: str) -> None:
    main = project / "main.go"
    source = main.read_text()
    start = source.index('const greeting = "') + len('const greeting = "')
    main.write_text(source[:start] + text + source[source.index('"', start):])


def _go_build(project: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(project / ".goship" / "bench-bin"), "."],
                   cwd=project, env={**_env(REPO / "src"), "CGO_ENABLED": "0"}, check=True, capture_output=True)
    return time.perf_counter() - start


def _project(root: Path, name: str, port: int, reg: str, key: Path, known: Path, fleet: list[str]) -> Path:
    project = root / name
    shutil.copytree(REPO / "examples" / "hello", project, ignore=shutil.ignore_patterns(".goship"))
    (project / "goship.yaml").write_text(
        f"service: {name}\nimage: {reg}/{name}\nregistry:\n  insecure: true\n"
        f"proxy:\n  port: {port}\nhealth:\n  timeout: 20s\ndeploy:\n  batch: 4\n  drain: 2s\n"
        f"ssh:\n  identity_file: {key}\n  known_hosts_file: {known}\n"
        f"targets:\n  one:\n    hosts: [{fleet[0]}]\n  fleet:\n    hosts: [{', '.join(fleet)}]\n"
    )
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    return project


def _commit(project: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.email=b@x", "-c", "user.name=bench", "commit", "-qm", message], cwd=project,
                   check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE)
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="goship-bench-deploy-"))
    old_tree = work / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(old_tree), options.baseline],
                   check=True)
    old_src, new_src = old_tree / "src", REPO / "src"
    engine.ensure_dockerd(Path(tempfile.gettempdir()) / "goship-bench-engine")
    images.seed_caddy_image("caddy:2")
    address = hosts.ensure_registry_address()
    reg = registry.start_registry(work / "registry", host=address)
    key = hosts.make_client_key(work / "ssh")
    started: list[hosts.RemoteHost] = []
    try:
        for index in HOSTS:
            host = hosts.start_host(index, work / f"rh{index}", key, [reg.addr])
            images.copy_image("caddy:2", ["docker"], host.docker_argv())
            started.append(host)
        known = work / "known_hosts"
        known.write_text("".join(h.known_hosts.read_text() for h in started))
        fleet = [h.target for h in started]
        projects = {
            "old": (old_src, _project(work, "benchold", 8081, reg.addr, key, known, fleet)),
            "new": (new_src, _project(work, "benchnew", 8082, reg.addr, key, known, fleet)),
        }
        results: dict[str, dict[str, list[float]]] = {k: {"ship": [], "rollback": [], "fleet": [], "help": []}
                                                        for k in projects}
        builds: list[float] = []
        for src, project in projects.values():
            _commit(project, "v0")
            _run(src, project, "ship", "one")  # first deploy: proxy, network, base layers
            _run(src, project, "ship", "fleet")
        for n in range(1, options.rounds + 1):
            for name, (src, project) in projects.items():
                _greet(project, f"Hello #{n}")
                _commit(project, f"v{n}")
                builds.append(_go_build(project))
                results[name]["ship"].append(_run(src, project, "ship", "one"))
                results[name]["rollback"].append(_run(src, project, "rollback", "one"))
                _greet(project, f"Hello fleet #{n}")
                _commit(project, f"f{n}")
                results[name]["fleet"].append(_run(src, project, "ship", "fleet"))
                results[name]["help"].append(min(_help(src) for _ in range(5)))
        _report(results, statistics.median(builds), options)
    finally:
        for host in started:
            host.stop()
        reg.stop()
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_tree)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def _report(results: dict[str, dict[str, list[float]]], go_build: float, options: argparse.Namespace) -> None:
    med = {k: {op: statistics.median(v) for op, v in ops.items()} for k, ops in results.items()}
    old, new = med["old"], med["new"]
    # The fleet deploy against one host's: both include the same build and push.
    rows = [
        ("goship rollback, 1 SSH host", old["rollback"], new["rollback"], f"<= 1.0 s: {new['rollback']:.2f} s"),
        ("goship ship (one-line change), 1 SSH host", old["ship"], new["ship"],
         f"<= go build + 1.5 s = {go_build + 1.5:.2f} s: {new['ship']:.2f} s"),
        ("goship ship, 4 SSH hosts (deploy.batch: 4)", old["fleet"], new["fleet"],
         f"<= 1.3x one host: {new['fleet'] / new['ship']:.2f}x"),
        ("goship --help", old["help"], new["help"], f"<= 0.100 s: {new['help']:.3f} s"),
    ]
    what = " (docker CLI per action over SSH)" if options.baseline == BASELINE else ""
    print(f"\nmedians of {options.rounds} rounds; baseline = goship at {options.baseline}{what}, against this tree")
    print(f"go build alone (the floor): {go_build:.2f} s\n")
    print(f"| {'operation':<44} | {'baseline s':>16} | {'this tree s':>12} | {'speed-up':>8} | target |")
    print(f"|{'-' * 46}|{'-' * 18}|{'-' * 14}|{'-' * 10}|--------|")
    for name, before, after, target in rows:
        print(f"| {name:<44} | {before:>16.3f} | {after:>12.3f} | {before / after:>7.1f}x | {target} |")


if __name__ == "__main__":
    main()
