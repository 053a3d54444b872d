"""Replace the running version of a service on one host, without downtime.

Order of operations, each step undone if a later one fails:
  1. make sure the image is on the host (loaded, or pulled by digest);
  2. start the new container next to the old one, on the private network;
  3. probe it until healthy (or give up: remove it, leave the old one);
  4. point the host's proxy at it and reload Caddy gracefully;
  5. check the service answers through the proxy (or switch back);
  6. let the old version finish its requests, then stop and remove it.
Until step 4 succeeds the proxy and the old container are never touched.
Every action is an Engine API request on the host's one connection; the
clock is a parameter, so the unit tests run this against the fake engine
in no time.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from goship.deploy import history, lock, proxy
from goship.deploy.specs import (
    LABEL_IMAGE,
    LABEL_ROLE,
    LABEL_SERVICE,
    LABEL_VERSION,
    NETWORK,
    AppContainer,
    Hardening,
    app_container,
    managed,
)
from goship.deploy.targets import Host
from goship.engine.api import ContainerState
from goship.engine.client import Engine
from goship.errors import DeployError, GoshipError, HealthCheckFailed, HostError
from goship.events import Stage
from goship.hosts.probe import ProbeResult


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


REAL_CLOCK = RealClock()
#: The first probes of a starting container come quickly (a Go service
#: listens within milliseconds), then back off to health.interval.
FIRST_PROBE_DELAY = 0.02


@dataclass(frozen=True)
class Release:
    """What to run: one version of one service."""

    service: str
    version: str
    image: str  # what the container is created from: an image id, a tag or repo@digest
    app_port: int
    env: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    health_path: str = "/healthz"
    health_timeout: float = 30.0
    health_interval: float = 0.5
    health_status: int | None = None  # exact status wanted; None = any 2xx
    health_successes: int = 1
    watch_seconds: float = 0.0
    stop_timeout: int = 30
    drain_seconds: float = 2.0
    digest: str = ""
    revision: str = ""
    domains: tuple[str, ...] = ()
    tls: str = "acme"
    keep: int = 3  # releases whose images stay on the host for rollbacks
    #: What the release history calls a success: "live", or "rollback".
    kind: str = "live"
    #: Secret values: sent in the create request's body, never in argv or records.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    hardening: Hardening = field(default_factory=Hardening)


@dataclass(frozen=True)
class HostResult:
    host: str
    container: str
    url: str
    replaced: tuple[str, ...]
    #: The release that served before, for a rollback across hosts.
    previous_image: str | None = None
    previous_version: str | None = None

    def describe(self) -> str:
        return f"{self.host}: {self.container}"


#: Puts the image on a host: a load into the local engine, a pull by digest elsewhere.
ImageProvider = Callable[[Engine], None]


def healthy(release: Release, probe: ProbeResult) -> bool:
    if probe.status is None:
        return False
    if release.health_status is not None:
        return probe.status == release.health_status
    return 200 <= probe.status < 300


def container_name(release: Release) -> str:
    return f"{release.service}-{release.version}-{secrets.token_hex(3)}"


def app_spec(release: Release, name: str) -> AppContainer:
    return AppContainer(
        name=name,
        image=release.image,
        service=release.service,
        version=release.version,
        port=release.app_port,
        env=release.env,
        secrets=release.secrets,
        command=release.command,
        hardening=release.hardening,
        stop_timeout=release.stop_timeout,
    )


def app_containers(engine: Engine, service: str) -> list[str]:
    return [c.name for c in engine.containers({LABEL_SERVICE: service, LABEL_ROLE: "app"})]


def wait_healthy(host: Host, name: str, release: Release, clock: Clock = REAL_CLOCK) -> ProbeResult:
    """Probe the new container until it is healthy; raise with the evidence.

    Healthy means ``health_successes`` good answers in a row on the HTTP
    probe, and, when the image has a Docker HEALTHCHECK, Docker calling it
    healthy too.
    """
    engine = host.engine
    deadline = clock.monotonic() + release.health_timeout
    seen: list[ProbeResult] = []
    address: tuple[str, int] | None = None
    streak = 0
    delay = FIRST_PROBE_DELAY
    while True:
        state = engine.inspect(name)
        if address is None and state is not None:
            # A container that already exited has no published port.
            address = state.published(release.app_port)
        if address is not None:
            probe = host.prober.http_get(address[0], address[1], release.health_path, timeout=5.0)
            good = healthy(release, probe)
            streak = streak + 1 if good else 0
            docker_ok = state is None or state.health in (None, "healthy")
            if streak >= release.health_successes and docker_ok:
                return probe
            seen.append(probe)
            if probe.status is not None:
                delay = release.health_interval  # it answers: probe at the configured pace
        if state is None or state.stopped:
            code = state.exit_code if state else "?"
            raise health_failure(host, name, release, f"the container stopped (exit code {code})", seen)
        if state.health == "unhealthy":
            raise health_failure(host, name, release, "Docker's HEALTHCHECK reports it unhealthy", seen)
        if clock.monotonic() >= deadline:
            raise health_failure(
                host,
                name,
                release,
                f"no healthy answer from GET {release.health_path} within {release.health_timeout:g}s"
                + (f" (last: {seen[-1].describe()})" if seen else ""),
                seen,
            )
        clock.sleep(min(delay, release.health_interval))
        delay = min(delay * 2, release.health_interval)


def health_failure(host: Host, name: str, release: Release, reason: str, seen: list[ProbeResult]) -> HealthCheckFailed:
    engine = host.engine
    details = [f"last probes: {', '.join(p.describe() for p in seen[-5:])}"] if seen else []
    state = engine.inspect(name)
    if state is not None:
        details.append(f"container {name}: {state.status}, exit code {state.exit_code}")
    log_lines = engine.logs(name, tail=15)
    if log_lines:
        details.append("last log lines:")
        details += [f"  {line}" for line in log_lines[-15:]]
    # Probes refused while it started say nothing about the path.
    answered = [p for p in seen if p.status is not None]
    if answered and all(p.status == 404 for p in answered):
        hint = (
            f"the service has no {release.health_path} endpoint: add a handler that answers 200, "
            "or point health.path in goship.yaml at one it has"
        )
    else:
        hint = (
            f"check that the service listens on port {release.app_port} ($PORT) and "
            f"answers 2xx on {release.health_path}"
        )
    return HealthCheckFailed(
        f"{engine.name}: {release.service} {release.version} is not healthy: {reason}; "
        "the previous version keeps serving",
        hint=hint,
        details=tuple(details),
    )


def ensure_network(engine: Engine) -> None:
    if engine.network(NETWORK) is None:
        engine.create_network(NETWORK, managed("network"))


def ensure_image(engine: Engine, image: str, auth: str | None = None) -> None:
    if engine.image(image) is None:
        engine.pull(image, auth)


def _install(engine: Engine, spec: proxy.ProxySpec, files: dict[str, str]) -> None:
    engine.put_archive(spec.name, proxy.CONFIG_DIR, proxy.config_tar(files))


def ensure_proxy(host: Host, first_sites: dict[str, str], stage: Stage) -> bool:
    """Create the host's proxy on first use (with ``first_sites`` already in
    place) or restart it if it was stopped; True when it was created."""
    engine, spec = host.engine, host.proxy
    state = engine.inspect(spec.name)
    if state is None:
        stage.step(f"starting proxy {spec.name} on port {spec.public_port}")
        ensure_image(engine, spec.image)
        engine.create(spec.name, proxy.container(spec))
        _install(engine, spec, {"Caddyfile": proxy.main_caddyfile(), **first_sites})
        try:
            engine.start(spec.name)
        except HostError as exc:
            engine.remove(spec.name)
            busy = "allocated" in exc.message or "address already in use" in exc.message
            raise DeployError(
                f"{engine.name}: the proxy cannot start on port {spec.public_port}: {exc.message.removeprefix(engine.name + ': ')}",
                hint="another program uses that port; choose another with proxy.port in goship.yaml"
                if busy
                else f"check the proxy image {spec.image}",
            ) from None
        return True
    if not state.running:
        engine.start(spec.name)
    if spec.https_port and state.published(proxy.HTTPS_PORT) is None:
        raise DeployError(
            f"{engine.name}: proxy {spec.name} was created without an HTTPS port, which domains need",
            hint=f"recreate it once (a few seconds without traffic): docker rm -f {spec.name}, then deploy again",
        )
    return False


def reload_proxy(engine: Engine, spec: proxy.ProxySpec) -> None:
    """``caddy reload`` in the proxy: Caddy loads the new configuration or keeps the old one."""
    code, output = engine.exec(spec.name, proxy.RELOAD, timeout=60)
    if code != 0:
        lines = [line for line in output if line.strip()]
        reason = next((line for line in reversed(lines) if line.startswith("Error:")), lines[-1] if lines else "")
        raise HostError(
            f"{engine.name}: caddy reload failed (exit code {code}): {reason}", host=engine.name, stderr=reason
        )


def switch_proxy(engine: Engine, spec: proxy.ProxySpec, service: str, new: str, old: str) -> None:
    """Install site text ``new``; if Caddy refuses it, put ``old`` back."""
    _install(engine, spec, {proxy.site_file(service): new, "Caddyfile": proxy.main_caddyfile()})
    try:
        reload_proxy(engine, spec)
    except HostError as exc:
        _install(engine, spec, {proxy.site_file(service): old})
        raise DeployError(
            f"{engine.name}: the proxy refused the new route for {service}: {exc.stderr or exc.message}",
            hint=f"see the proxy's log: docker logs {spec.name}",
        ) from None


def _wait_proxy(host: Host, release: Release, clock: Clock) -> ProbeResult:
    """Ask the proxy for the service as a client would. With domains, plain
    HTTP answers with Caddy's redirect to HTTPS, which shows the route is
    loaded (the upstream itself was probed directly just before)."""
    domain = release.domains[0] if release.domains else None
    deadline = clock.monotonic() + 10
    delay = FIRST_PROBE_DELAY
    while True:
        probe = host.prober.http_get(
            "127.0.0.1", host.proxy.public_port, release.health_path, timeout=5.0, host_header=domain
        )
        redirected = domain is not None and probe.status in (301, 302, 307, 308)
        if healthy(release, probe) or redirected or clock.monotonic() > deadline:
            return ProbeResult(200, None, probe.seconds) if redirected else probe
        clock.sleep(delay)
        delay = min(delay * 2, 0.2)


def drain(host: Host, old: list[ContainerState], release: Release, clock: Clock) -> None:
    """Wait until the proxy has no request in flight to the old containers,
    for at most ``drain_seconds``. Caddy's upstream counters say so; a proxy
    without the status port (made by an older goship) gets the full wait."""
    if not old or release.drain_seconds <= 0:
        return
    upstreams = {f"{c.name}:{release.app_port}" for c in old}
    deadline = clock.monotonic() + release.drain_seconds
    state = host.engine.inspect(host.proxy.name)
    status = state.published(proxy.STATUS_PORT) if state is not None else None
    delay = FIRST_PROBE_DELAY
    while clock.monotonic() < deadline:
        if status is not None:
            body = host.prober.get_body(status[0], status[1], proxy.UPSTREAMS_PATH, timeout=2.0)
            if body is not None:
                counts = proxy.parse_upstream_counts(body)
                if all(counts.get(address, 0) == 0 for address in upstreams):
                    return
        clock.sleep(min(delay, max(0.0, deadline - clock.monotonic())))
        delay = min(delay * 2, 0.25)


@dataclass(frozen=True)
class Known:
    """What the caller already read from the host (a rollback reads both to choose)."""

    records: list[history.ReleaseRecord]
    routed: str | None  # the container the proxy routes the service to


def deploy_to_host(
    host: Host,
    release: Release,
    provide_image: ImageProvider,
    stage: Stage,
    clock: Clock = REAL_CLOCK,
    known: Known | None = None,
) -> HostResult:
    engine = host.engine
    stage = stage.on(host.name)
    engine.version()
    provide_image(engine)
    lock.acquire(engine, release.service, release.image, f"deploying {release.service} {release.version}")
    try:
        # Read under the lock: another deploy may have changed them until now.
        # What a caller read before is kept if its routed container still exists.
        if known is not None and (known.routed is None or engine.inspect(known.routed) is None):
            known = None
        routed = known.routed if known else live_container(host, release.service)
        records = known.records if known else history.read(engine, release.service)
        try:
            result = _replace(host, release, stage, clock, routed)
        except GoshipError as exc:
            _record(host, release, "failed", stage, reason=exc.message)
            raise
        record = _record(host, release, release.kind, stage, container=result.container)
        prune_images(engine, release, stage, [*records, record])
        return result
    finally:
        lock.release(engine, release.service)


def _record(
    host: Host, release: Release, result: str, stage: Stage, *, reason: str = "", container: str = ""
) -> history.ReleaseRecord:
    record = history.ReleaseRecord(
        service=release.service,
        version=release.version,
        image=release.image,
        digest=release.digest,
        result=result,
        host=host.name,
        revision=release.revision,
        deployed_by=history.deployer(),
        reason=reason,
        container=container,
    )
    try:
        # The state container is made from the proxy image, so it pins no
        # release image that pruning should be free to remove.
        ensure_image(host.engine, host.proxy.image)
        history.write(host.engine, record, host.proxy.image)
    except GoshipError as exc:
        # The deploy itself is decided; a history that cannot be written is
        # reported, not allowed to hide what happened to the service.
        stage.warn(f"could not record the release: {exc.message}")
    return record


def prune_images(engine: Engine, release: Release, stage: Stage, records: list[history.ReleaseRecord]) -> None:
    """Remove images of releases older than the newest ``keep`` successful
    ones. Only images goship recorded for this service are candidates, and
    never the current or the previous release's."""
    kept: list[str] = []
    for record in reversed(records):
        if record.result in ("live", "rollback") and record.image not in kept:
            kept.append(record.image)
    keep = set(kept[: max(2, release.keep)]) | {release.image}
    stale = sorted({r.image for r in records} - keep)
    removed = [image for image in stale if engine.image(image) is not None and engine.remove_image(image)]
    if removed:
        stage.info(f"pruned {len(removed)} old image(s)")


def live_container(host: Host, service: str) -> str | None:
    """The container the proxy routes the service to now, if any.

    Asked first of the proxy's upstream list (one probe through its status
    window, a few milliseconds): the service's running container that Caddy
    forwards to. Only when that does not name exactly one (no status window,
    a stopped proxy) is the site file read back (an archive, ~40 ms).
    """
    engine = host.engine
    candidates = {c.name for c in engine.containers({LABEL_SERVICE: service, LABEL_ROLE: "app"})}
    if not candidates:
        return None
    state = engine.inspect(host.proxy.name)
    status = state.published(proxy.STATUS_PORT) if state is not None and state.running else None
    if status is not None:
        body = host.prober.get_body(status[0], status[1], proxy.UPSTREAMS_PATH, timeout=2.0)
        if body is not None:
            routed = {address.rsplit(":", 1)[0] for address in proxy.parse_upstream_counts(body)} & candidates
            if len(routed) == 1:
                return routed.pop()
    data = engine.get_archive(host.proxy.name, proxy.site_path(service))
    found = proxy.parse_upstream(data) if data is not None else None
    # A route to a container that is gone (removed by hand) means nothing runs.
    return found if found in candidates else None


def _replace(host: Host, release: Release, stage: Stage, clock: Clock, routed: str | None) -> HostResult:
    engine = host.engine
    ensure_network(engine)
    # Every app container of the service but the new one goes at the end,
    # including leftovers of an interrupted deploy; only the one the proxy
    # routes to is "live" and gets the traffic back on a failure.
    previous = [s for s in (engine.inspect(n) for n in app_containers(engine, release.service)) if s is not None]
    live_state = next((c for c in previous if c.running and c.name == routed), None)
    live = live_state.name if live_state else None

    name = container_name(release)
    stage.step(f"starting {name}")
    engine.create(name, app_container(app_spec(release, name)))
    switched = False
    try:
        engine.start(name)
        probe = wait_healthy(host, name, release, clock)
        stage.ok(f"{name} healthy ({probe.describe()})")
        route = proxy.site_config(release.service, name, release.app_port, release.domains, release.tls, draining=live)
        previous_route = (
            proxy.site_config(release.service, live, release.app_port, release.domains, release.tls)
            if live
            else proxy.no_site(release.service)
        )
        # Back to the live one, with the new one listed second so that what it
        # still answers is counted (and waited for) before it is removed.
        switch_back = (
            proxy.site_config(release.service, live, release.app_port, release.domains, release.tls, draining=name)
            if live
            else None
        )
        if not ensure_proxy(host, {proxy.site_file(release.service): route}, stage):
            switch_proxy(engine, host.proxy, release.service, route, previous_route)
        switched = True
        through_proxy = _wait_proxy(host, release, clock)
        if not healthy(release, through_proxy):
            if switch_back:
                switch_proxy(engine, host.proxy, release.service, switch_back, previous_route)
            raise DeployError(
                f"{host.name}: {release.service} is healthy but does not answer through the proxy "
                f"on port {host.proxy.public_port} ({through_proxy.describe()})"
                + ("; switched back" if live else ""),
                hint=f"check the proxy's log: docker logs {host.proxy.name}",
            )
        stage.ok(f"proxy switched to {name}")
        if release.watch_seconds > 0:
            _watch(host, name, release, stage, switch_back, previous_route, clock)
    except (GoshipError, KeyboardInterrupt):
        if switched and live:
            # It served traffic: let its requests finish before it goes.
            new_state = engine.inspect(name)
            if new_state is not None and new_state.running:
                drain(host, [new_state], release, clock)
        engine.remove(name)
        raise

    if previous:
        drain(host, [c for c in previous if c.running], release, clock)
        for old in previous:
            if old.running:
                engine.stop(old.name, release.stop_timeout)
            engine.remove(old.name)
        stage.info(f"removed {', '.join(c.name for c in previous)}")
    url = host.url
    if release.domains:
        port = host.proxy.https_port
        url = f"https://{release.domains[0]}" + (f":{port}" if port not in (None, 443) else "")
    return HostResult(
        host.name,
        name,
        url,
        tuple(c.name for c in previous),
        previous_image=live_state.labels.get(LABEL_IMAGE) if live_state else None,
        previous_version=live_state.labels.get(LABEL_VERSION) if live_state else None,
    )


def _watch(
    host: Host, name: str, release: Release, stage: Stage, switch_back: str | None, previous: str, clock: Clock
) -> None:
    """Keep probing the new version for ``watch_seconds`` after the switch,
    while the old one still runs; on a failure, route traffic back to it."""
    stage.step(f"watching {name} for {release.watch_seconds:g}s")
    engine = host.engine
    first = engine.inspect(name)
    address = first.published(release.app_port) if first is not None else None
    deadline = clock.monotonic() + release.watch_seconds
    seen: list[ProbeResult] = []
    while clock.monotonic() < deadline:
        state = engine.inspect(name)
        probe = host.prober.http_get(*address, release.health_path, timeout=5.0) if address is not None else None
        if probe is not None:
            seen.append(probe)
        stopped = state is None or state.stopped
        if stopped or probe is None or not healthy(release, probe) or (state is not None and state.health == "unhealthy"):
            if switch_back is not None:
                switch_proxy(engine, host.proxy, release.service, switch_back, previous)
            reason = (
                f"the container stopped (exit code {state.exit_code if state else '?'})"
                if stopped
                else f"it failed a health check ({seen[-1].describe() if seen else 'no answer'})"
            )
            raise health_failure(host, name, release, f"{reason} during the watch period", seen)
        clock.sleep(release.health_interval)
