"""The local Docker engine the tests and ``make demo`` use.

Why: there is no systemd here, so nothing starts dockerd for us; but a
developer's machine (or an earlier ``make demo``) may already run one, and two
daemons on one data root would corrupt it. ``ensure_dockerd`` therefore reuses
any engine that answers on the default socket and starts one only otherwise,
detached so that it outlives ``python -m testbed engine``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import state
from ._proc import TestbedError, alive, cmdline, ok, read_pid, system_env, tail, terminate, wait_until

DEFAULT_PIDFILE = Path("/var/run/docker.pid")
# Test registries listen on 10.231.0.1 (see hosts.ensure_registry_address) over plain HTTP.
INSECURE_REGISTRIES = ("10.231.0.0/16",)


def docker_binary() -> str:
    """The docker client used everywhere: the first ``docker`` on PATH (here /usr/local/bin/docker 28.x)."""
    return shutil.which("docker") or "/usr/bin/docker"


def engine_answers(docker: list[str] | None = None, timeout: float = 10) -> bool:
    """True when ``docker info`` reaches a daemon (exit status 0 only if the server answered)."""
    return ok([*(docker or [docker_binary()]), "info", "--format", "{{.ServerVersion}}"], timeout=timeout)


@dataclass
class Dockerd:
    """A local engine; ``started`` is True only if ensure_dockerd launched it (then stop() ends it)."""

    started: bool
    pid: int | None = None
    pidfile: Path | None = None
    log: Path | None = None
    docker: list[str] = field(default_factory=lambda: [docker_binary()])

    def stop(self, grace_s: float = 30) -> None:
        """End the dockerd this object started (by pid), and its containerd; no-op for a reused engine."""
        if not self.started or self.pid is None:
            return
        _stop_dockerd(self.pid, str(self.pidfile), grace_s)
        state.record("engine", "local", None)
        self.started = False


def _children(pid: int) -> list[int]:
    """Direct children of pid (dockerd's own containerd), read from /proc."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _stop_dockerd(pid: int, marker: str, grace_s: float) -> None:
    """SIGTERM dockerd (which stops containers and containerd); clean up its containerd if it was killed."""
    kids = [k for k in _children(pid) if "containerd" in cmdline(k)] if marker in cmdline(pid) else []
    terminate(pid, marker, grace_s)
    for kid in kids:
        terminate(kid, "containerd", 10)


def ensure_dockerd(state_dir: Path, deadline_s: float = 60) -> Dockerd:
    """Reuse the engine on the default socket, or start dockerd detached and wait until it answers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if engine_answers():
        return Dockerd(started=False, pid=read_pid(DEFAULT_PIDFILE))
    pidfile = state_dir / "dockerd.pid"
    log = state_dir / "dockerd.log"
    # A dockerd that is still starting (ours from an earlier call, or the system's): wait, never start a second.
    for candidate in (DEFAULT_PIDFILE, pidfile):
        pid = read_pid(candidate)
        if alive(pid) and "dockerd" in cmdline(pid or 0):
            wait_until(engine_answers, deadline_s, f"the running dockerd (pid {pid}) to answer")
            return Dockerd(started=False, pid=pid, pidfile=candidate)
        if candidate.exists():
            candidate.unlink()  # stale: its process is gone
    env = system_env()
    dockerd = shutil.which("dockerd", path=env["PATH"]) or "/usr/sbin/dockerd"
    argv = [dockerd, "--pidfile", str(pidfile)]
    for reg in INSECURE_REGISTRIES:
        argv += ["--insecure-registry", reg]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, cwd="/", env=env)
    state.record("engine", "local", {"pid": proc.pid, "marker": str(pidfile), "log": str(log)})
    engine = Dockerd(started=True, pid=proc.pid, pidfile=pidfile, log=log)

    def ready() -> bool:
        if proc.poll() is not None:
            state.record("engine", "local", None)
            raise TestbedError(f"dockerd exited with {proc.returncode}; {log}:\n{tail(log)}")
        return engine_answers(timeout=5)

    try:
        wait_until(ready, deadline_s, "dockerd to answer `docker info`", lambda: f"; {log}:\n{tail(log)}")
    except BaseException:
        engine.stop()
        raise
    return engine


def stop_recorded() -> int | None:
    """Stop the dockerd a test-bed run started and recorded (``python -m testbed down``); return its pid."""
    entry = state.load().get("engine", {}).get("local")
    if not entry:
        return None
    _stop_dockerd(int(entry["pid"]), str(entry["marker"]), grace_s=30)
    state.record("engine", "local", None)
    return int(entry["pid"])
