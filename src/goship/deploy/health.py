"""The one health gate: is a container ready, does it stay healthy, and why not.

Everything here works on an engine (what Docker says about the container)
and a prober (HTTP or TCP as seen from the container's host), so the
rollout, post-deploy verification, canaries and self-healing ask the same
questions and explain a failure the same way: the container's own exit
code, restarts and log lines first when it stopped, the probes and a hint
chosen from them when it did not answer as asked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from goship.deploy.clock import REAL_CLOCK, Clock
from goship.deploy.loghints import log_hint
from goship.engine.api import ContainerState
from goship.engine.client import Engine
from goship.errors import GoshipError, HealthCheckFailed
from goship.hosts.probe import Prober, ProbeResult

#: The first probes of a starting container come quickly (a Go service
#: listens within milliseconds), then back off to the check's interval.
FIRST_PROBE_DELAY = 0.02


@dataclass(frozen=True)
class HealthCheck:
    """What "healthy" means for one process (health.* and app.port of goship.yaml, or a role's)."""

    port: int | None  # None: a process with no port (type command or none)
    #: http (2xx), answers (any answer below 500), tcp (a connection), command (exits 0 in the
    #: container), none (keeps running, not restarted, for ``settle`` seconds)
    type: str = "http"
    path: str = "/healthz"
    timeout: float = 30.0
    interval: float = 0.5
    status: int | None = None  # exact status wanted; None = any 2xx
    successes: int = 1
    command: tuple[str, ...] = ()
    settle: float = 3.0
    #: Where its settings are in goship.yaml, for hints: "" (app, health) or "roles.worker.".
    keys: str = ""

    @property
    def probes_port(self) -> bool:
        """Whether it asks the process's port (http, answers, tcp) rather than the engine."""
        return self.type not in ("command", "none")

    def key(self, name: str) -> str:
        """A setting as the user writes it: ``health.path``, ``roles.worker.health.path``, ``app.env``/``roles.worker.env``."""
        if self.keys:
            return self.keys + name.removeprefix("app.")
        return name

    def passes(self, probe: ProbeResult) -> bool:
        if not self.probes_port:
            return probe.succeeded
        if self.type == "tcp":
            return probe.connected
        if probe.status is None:
            return False
        if self.type == "answers":
            return probe.status < 500
        if self.status is not None:
            return probe.status == self.status
        return 200 <= probe.status < 300

    def question(self) -> str:
        """What the check asks, for messages."""
        if self.type == "tcp":
            return f"a connection to port {self.port}"
        if self.type == "command":
            return f"the check command {' '.join(self.command)}"
        if self.type == "none":
            return "the process (it did not keep running)"
        return f"GET {self.path}"

    def run_command(self, engine: Engine, name: str) -> ProbeResult:
        """The check command, run in container ``name`` through the engine (exit 0: healthy)."""
        started = time.monotonic()
        try:
            code, lines = engine.exec(name, self.command, timeout=max(self.timeout, 5.0))
        except GoshipError as error:  # not running (yet), or the engine refused the exec
            return ProbeResult(None, error.message, time.monotonic() - started, refused=True)
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        seconds = time.monotonic() - started
        return ProbeResult(None, last or None, seconds, checked=f"exit code {code}" + (f" ({last})" if last and code else ""),
                           succeeded=code == 0)

    def probe(self, prober: Prober, address: tuple[str, int]) -> ProbeResult:
        if self.type == "tcp":
            return prober.tcp_connect(address[0], address[1], timeout=5.0)
        return prober.http_get(address[0], address[1], self.path, timeout=5.0)


def exited(state: ContainerState | None) -> str:
    """What the engine says happened to a container that stopped: code, restarts, OOM."""
    if state is None:
        return "the container is gone (removed while it started?)"
    what = f"the container exited with code {state.exit_code}"
    if state.oom_killed:
        what = "the container was killed for using more memory than app.resources.memory allows"
    if state.restart_count:
        times = "once" if state.restart_count == 1 else f"{state.restart_count} times"
        what += f" and was restarted {times} by its restart policy"
    return what


def wait_ready(
    engine: Engine,
    prober: Prober,
    name: str,
    check: HealthCheck,
    subject: str,
    clock: Clock = REAL_CLOCK,
    *,
    replaces: bool = True,
) -> ProbeResult:
    """Probe container ``name`` until it is healthy; raise with the evidence.

    Healthy means ``check.successes`` good answers in a row, and, when the
    image has a Docker HEALTHCHECK, Docker calling it healthy too. A
    container that exits - even once, restarted by its restart policy -
    fails at once. ``subject`` names it in messages ("hello 3f2a9c");
    ``replaces``: a version serves now (the message says whether it keeps serving).
    """
    deadline = clock.monotonic() + max(check.timeout, check.settle + check.interval if check.type == "none" else 0.0)
    seen: list[ProbeResult] = []
    address: tuple[str, int] | None = None
    streak = 0
    delay = FIRST_PROBE_DELAY
    running_since: float | None = None
    while True:
        state = engine.inspect(name)
        if address is None and state is not None and check.port is not None and check.probes_port:
            # A container that already exited has no published port.
            address = state.published(check.port)
        probe: ProbeResult | None = None
        if check.type == "none":
            # No question to ask it: it is ready once it has run for the settle time without stopping.
            if state is not None and state.running and not state.stopped and state.restart_count == 0:
                running_since = clock.monotonic() if running_since is None else running_since
                ran = clock.monotonic() - running_since
                probe = ProbeResult(None, None, ran, checked="running, never restarted, for", succeeded=ran >= check.settle)
        elif check.type == "command":
            if state is not None and state.running and not state.stopped:
                probe = check.run_command(engine, name)
        elif address is not None:
            probe = check.probe(prober, address)
        if probe is not None:
            streak = streak + 1 if check.passes(probe) else 0
            docker_ok = state is None or state.health in (None, "healthy")
            if streak >= (1 if check.type == "none" else check.successes) and docker_ok:
                return probe
            if check.type != "none":
                seen.append(probe)
            if probe.status is not None or probe.checked is not None:
                delay = check.interval  # it answers: probe at the configured pace
        if state is None or state.stopped or state.restart_count > 0:
            raise failure(engine, name, check, subject, exited(state), seen, replaces=replaces, exited_at_start=True)
        if state.health == "unhealthy":
            raise failure(engine, name, check, subject, "Docker's HEALTHCHECK reports it unhealthy", seen, replaces=replaces)
        if clock.monotonic() >= deadline:
            raise failure(
                engine,
                name,
                check,
                subject,
                f"no healthy answer from {check.question()} within {check.timeout:g}s"
                + (f" (last: {seen[-1].describe()})" if seen else ""),
                seen,
                replaces=replaces,
            )
        clock.sleep(min(delay, check.interval))
        delay = min(delay * 2, check.interval)


def watch(
    engine: Engine,
    prober: Prober,
    name: str,
    check: HealthCheck,
    subject: str,
    seconds: float,
    clock: Clock = REAL_CLOCK,
    *,
    replaces: bool = True,
) -> None:
    """Keep probing a container that took traffic for ``seconds``; the first failure raises."""
    first = engine.inspect(name)
    address = first.published(check.port) if first is not None and check.port is not None else None
    deadline = clock.monotonic() + seconds
    seen: list[ProbeResult] = []
    while clock.monotonic() < deadline:
        state = engine.inspect(name)
        probe: ProbeResult | None
        if check.type == "none":
            alive = state is not None and not state.stopped and state.restart_count == 0
            probe = ProbeResult(None, None, 0.0, checked="running", succeeded=alive)
        elif check.type == "command":
            probe = check.run_command(engine, name)
        else:
            probe = check.probe(prober, address) if address is not None else None
        if probe is not None:
            seen.append(probe)
        stopped = state is None or state.stopped
        if stopped or probe is None or not check.passes(probe) or (state is not None and state.health == "unhealthy"):
            reason = (
                exited(state)
                if stopped
                else f"it failed a health check ({seen[-1].describe() if seen else 'no answer'})"
            )
            raise failure(engine, name, check, subject, f"{reason} during the watch period", seen, replaces=replaces)
        clock.sleep(check.interval)


def failure(
    engine: Engine,
    name: str,
    check: HealthCheck,
    subject: str,
    reason: str,
    seen: list[ProbeResult],
    *,
    replaces: bool = True,
    exited_at_start: bool = False,
) -> HealthCheckFailed:
    """The failure, with the evidence in the order that explains it and a hint chosen from it."""
    state = engine.inspect(name)
    raw_lines = engine.logs(name, tail=15)[-15:]
    log_lines = [f"  {line}" for line in raw_lines]
    probes = [f"last probes: {', '.join(p.describe() for p in seen[-5:])}"] if seen else []
    where = [f"container {name}: {state.status}, exit code {state.exit_code}, restarted {state.restart_count} times"] if state else []
    answered = [p for p in seen if p.status is not None]  # refused probes while it starts say nothing
    k = check.key
    if exited_at_start:
        # Its own last words first: they say why (a missing setting, a bad flag).
        details = (["its last log lines:", *log_lines] if log_lines else []) + where + probes
        hint = (
            f"raise {k('app.resources.memory')} in goship.yaml"
            if state is not None and state.oom_killed
            else "the service stops by itself right after it starts: its last log lines say why "
            f"(a setting or flag it needs? see {k('app.env')}, {k('app.secrets')}, {k('app.args')})"
        )
    elif check.type == "command":
        details = probes + where + (["last log lines:", *log_lines] if log_lines else [])
        hint = (
            f"the check command must exit 0 once the process is ready: try it by hand with "
            f"goship exec{' --role ' + check.keys.split('.')[1] if check.keys else ''} -- {' '.join(check.command)}, "
            f"or change {k('health.command')}"
        )
    else:
        details = probes + where + (["last log lines:", *log_lines] if log_lines else [])
        port_key = k("app.port") if not check.keys else k("port")
        if answered and all(p.status == 404 for p in answered):
            hint = (
                f"the service has no {check.path} endpoint: add a handler that answers 200, "
                f"point {k('health.path')} in goship.yaml at one it has, or set {k('health.type')}: answers (any answer "
                "below 500 means ready)"
            )
        elif answered:
            last = answered[-1].status
            hint = (
                f"GET {check.path} answers HTTP {last}: make it answer "
                + (f"{check.status}" if check.status else "2xx")
                + f" once the service is ready, or point {k('health.path')} at a path that does"
            )
        elif seen and all(p.refused for p in seen):
            hint = (
                f"nothing accepts connections on port {check.port} in the container: the service must listen "
                f"on $PORT ({check.port}) on all interfaces (:{check.port}, not 127.0.0.1), or set {port_key}"
            )
        elif check.type == "tcp":
            hint = f"check that the service listens on port {check.port} ($PORT)"
        else:
            hint = f"check that the service listens on port {check.port} ($PORT) and answers 2xx on {check.path}"
    # The service's own words name the fix more precisely than the probes (a file
    # missing from the image, a volume it may not write); running out of memory
    # is the engine's verdict and stays first.
    said = log_hint(raw_lines, state.mounts if state is not None else ())
    if said is not None and not (state is not None and state.oom_killed):
        hint = said
    after = "the previous version keeps serving" if replaces else "there was no previous version here, so nothing serves it"
    return HealthCheckFailed(
        f"{engine.name}: {subject} is not healthy: {reason}; {after}",
        hint=hint,
        details=tuple(details),
    )
