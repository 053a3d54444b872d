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

from . import netns, state
from ._proc import TestbedError, alive, cmdline, ok, read_pid, run, system_env, tail, terminate, wait_until

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
    #: The DOCKER_HOST value that reaches it (None: the default socket).
    host: str | None = None
    #: The test suite's own engine (start_suite_engine), not the machine's.
    suite: bool = False

    def stop(self, grace_s: float = 30) -> None:
        """End the dockerd this object started (by pid), and its containerd; no-op for a reused engine."""
        if not self.started or self.pid is None:
            return
        _stop_dockerd(self.pid, str(self.pidfile), grace_s)
        if self.suite:
            netns.remove_cgroups(SUITE_CGROUP)
            _remove_suite_traffic_rule()
            run(["ip", "link", "delete", SUITE_BRIDGE], timeout=10, check=False)
        state.record("engine", "suite" if self.suite else "local", None)
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
    argv = [_dockerd_binary(), "--pidfile", str(pidfile)]
    for reg in INSECURE_REGISTRIES:
        argv += ["--insecure-registry", reg]
    return _launch(argv, Dockerd(started=True, pidfile=pidfile, log=log), deadline_s)


def _dockerd_binary() -> str:
    return shutil.which("dockerd", path=system_env()["PATH"]) or "/usr/sbin/dockerd"


def _launch(argv: list[str], engine: Dockerd, deadline_s: float) -> Dockerd:
    """Start dockerd detached (it outlives this process), record its pid, wait until it answers."""
    assert engine.log is not None and engine.pidfile is not None
    log = engine.log
    key = "suite" if engine.suite else "local"
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, cwd="/", env=system_env())
    engine.pid = proc.pid
    state.record("engine", key, {"pid": proc.pid, "marker": str(engine.pidfile), "log": str(log)})

    def ready() -> bool:
        if proc.poll() is not None:
            state.record("engine", key, None)
            raise TestbedError(f"dockerd exited with {proc.returncode}; {log}:\n{tail(log)}")
        return engine_answers(engine.docker, timeout=5)

    try:
        wait_until(ready, deadline_s, f"dockerd ({key}) to answer `docker info`", lambda: f"; {log}:\n{tail(log)}")
    except BaseException:
        engine.stop()
        raise
    return engine


SUITE_BRIDGE = "gsbr0"
SUITE_BRIDGE_ADDRESS = "10.234.0.1/24"
SUITE_POOL = "10.235.0.0/16"
#: Both ranges of the suite's engine, for the one firewall rule it needs.
SUITE_RANGE = "10.234.0.0/15"
SUITE_CGROUP = "goship-suite"


def _forward_rule(action: str) -> list[str]:
    return ["iptables", "-w", action, "FORWARD", "-s", SUITE_RANGE, "-d", SUITE_RANGE, "-j", "ACCEPT"]


def _allow_suite_traffic() -> None:
    """Let the suite's containers talk to each other over their bridge.

    Another dockerd in this network namespace (the machine's own) sets the
    FORWARD policy to DROP, and bridged traffic passes FORWARD
    (br_netfilter): without this rule the suite's proxy could not reach its
    apps. The rule names only the suite's own address ranges.
    """
    if shutil.which("iptables", path=system_env()["PATH"]) is None:
        return
    if not ok(_forward_rule("-C")):
        run(_forward_rule("-I"), check=False)


def _remove_suite_traffic_rule() -> None:
    if shutil.which("iptables", path=system_env()["PATH"]) is not None:
        while ok(_forward_rule("-C")):
            run(_forward_rule("-D"), check=False)


def _ensure_suite_bridge() -> None:
    """The suite engine's own default bridge (the machine's engine owns docker0)."""
    if run(["ip", "link", "show", "dev", SUITE_BRIDGE], timeout=10, check=False).returncode != 0:
        run(["ip", "link", "add", SUITE_BRIDGE, "type", "bridge"], timeout=10)
    addresses = run(["ip", "-o", "-4", "addr", "show", "dev", SUITE_BRIDGE], timeout=10, check=False).stdout
    if SUITE_BRIDGE_ADDRESS.split("/", maxsplit=1)[0] not in addresses:
        run(["ip", "addr", "add", SUITE_BRIDGE_ADDRESS, "dev", SUITE_BRIDGE], timeout=10)
    run(["ip", "link", "set", SUITE_BRIDGE, "up"], timeout=10)


def start_suite_engine(state_dir: Path, deadline_s: float = 60) -> Dockerd:
    """A dockerd of the test suite's own: its socket, data root, bridge and address pool.

    Why: the suite creates and removes goship containers and volumes by the
    dozen. On the machine's engine that would delete a developer's own goship
    services; on this one it touches nothing of anybody's. It runs in the
    machine's network namespace, so the ports it publishes on 127.0.0.1 are
    the machine's loopback, as for any local engine. It is reached through
    ``DOCKER_HOST`` (``Dockerd.host``); a stale one of an earlier run (by its
    pid file) is stopped first.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    pidfile = state_dir / "dockerd.pid"
    socket_path = state_dir / "docker.sock"
    log = state_dir / "dockerd.log"
    stale = read_pid(pidfile)
    if alive(stale) and str(pidfile) in cmdline(stale or 0):
        _stop_dockerd(stale or 0, str(pidfile), 30)
    for leftover in (pidfile, socket_path):
        leftover.unlink(missing_ok=True)
    _ensure_suite_bridge()
    _allow_suite_traffic()
    host = f"unix://{socket_path}"
    argv = [
        _dockerd_binary(), "--data-root", str(state_dir / "data"), "--exec-root", str(state_dir / "exec"),
        "--pidfile", str(pidfile), "-H", host,
        "--bridge", SUITE_BRIDGE, "--iptables=false", "--ip-masq=false",
        "--default-address-pool", f"base={SUITE_POOL},size=24",
        "--cgroup-parent", f"/{SUITE_CGROUP}", "--shutdown-timeout", "3",
    ]
    for reg in INSECURE_REGISTRIES:
        argv += ["--insecure-registry", reg]
    engine = Dockerd(started=True, pidfile=pidfile, log=log, docker=[docker_binary(), "-H", host], host=host, suite=True)
    return _launch(argv, engine, deadline_s)


def stop_recorded() -> list[int]:
    """Stop the dockerds a test-bed run started and recorded (``python -m testbed down``); return their pids."""
    stopped = []
    for name, entry in state.load().get("engine", {}).items():
        if not entry:
            continue
        _stop_dockerd(int(entry["pid"]), str(entry["marker"]), grace_s=30)
        if name == "suite":
            netns.remove_cgroups(SUITE_CGROUP)
            _remove_suite_traffic_rule()
            run(["ip", "link", "delete", SUITE_BRIDGE], timeout=10, check=False)
        state.record("engine", name, None)
        stopped.append(int(entry["pid"]))
    return stopped
