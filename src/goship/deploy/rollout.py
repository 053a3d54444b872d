"""Replace the running version of a service on one host, without downtime.

Order of operations, each step undone if a later one fails:
  1. make sure the image is on the host (``docker load`` or pull by digest);
  2. start the new container next to the old one, on the private network;
  3. probe it until healthy (or give up: remove it, leave the old one);
  4. point the host's proxy at it and reload Caddy gracefully;
  5. check the service answers through the proxy (or switch back);
  6. stop and remove the previous containers.
Until step 4 succeeds the proxy and the old container are never touched.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from goship.deploy import history, lock, proxy
from goship.deploy.targets import Host
from goship.errors import DeployError, GoshipError, HealthCheckFailed, HostError
from goship.events import Stage
from goship.hosts import docker
from goship.hosts.executor import Executor, ProbeResult


@dataclass(frozen=True)
class Release:
    """What to run: one version of one service."""

    service: str
    version: str
    image: str  # what ``docker run`` is given: an image id or repo@digest
    app_port: int
    env: dict[str, str] = field(default_factory=dict)
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
    #: Secret values: sent on stdin as an env file, never in argv or records.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    hardening: docker.Hardening = docker.Hardening()


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


#: Provides the image on a host: docker load for the local engine, a pull
#: by digest for remote hosts.
ImageProvider = Callable[[Executor], None]


def healthy(release: Release, probe: ProbeResult) -> bool:
    if probe.status is None:
        return False
    if release.health_status is not None:
        return probe.status == release.health_status
    return 200 <= probe.status < 300


@contextmanager
def _secrets_source(host: Host, secrets_file: bytes | None) -> Iterator[tuple[str | None, bytes | None]]:
    """Where ``docker run --env-file`` reads the secrets: stdin everywhere
    but a local Windows engine (no /dev/stdin), which gets a private temp file."""
    if secrets_file is None:
        yield None, None
    elif host.local and os.name == "nt":
        handle, path = tempfile.mkstemp(prefix="goship-env-")
        try:
            os.write(handle, secrets_file)
            os.close(handle)
            yield path, None
        finally:
            os.unlink(path)
    else:
        yield "/dev/stdin", secrets_file


def _run_new(executor: Executor, release: Release, name: str, env_file: str | None, stdin: bytes | None) -> None:
    executor.run(
        docker.run_app(
            docker.AppContainer(
                name=name,
                image=release.image,
                service=release.service,
                version=release.version,
                port=release.app_port,
                env=release.env,
                env_file=env_file,
                hardening=release.hardening,
            )
        ),
        input=stdin,
    )


def env_file_text(values: dict[str, str]) -> bytes:
    """Docker's env-file format: one KEY=value a line, no quoting, no newlines."""
    lines = []
    for key, value in sorted(values.items()):
        if "\n" in value or "\r" in value:
            raise DeployError(f"secret {key} contains a line break, which Docker env files cannot carry")
        lines.append(f"{key}={value}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def container_name(release: Release) -> str:
    return f"{release.service}-{release.version}-{secrets.token_hex(3)}"


def _app_containers(executor: Executor, service: str) -> list[docker.ContainerSummary]:
    out = executor.run(docker.list_containers({docker.LABEL_SERVICE: service, docker.LABEL_ROLE: "app"}))
    return docker.parse_ps(out.text)


def _state(executor: Executor, name: str) -> docker.ContainerState | None:
    result = executor.run(docker.inspect(name), check=False)
    states = docker.parse_inspect(result.text) if result.returncode == 0 else []
    return states[0] if states else None


def _logs(executor: Executor, name: str) -> list[str]:
    result = executor.run(docker.logs(name, tail=15), check=False)
    text = (result.text + result.stderr).strip()
    return text.splitlines()[-15:] if text else []


def wait_healthy(
    executor: Executor, name: str, release: Release, *, sleep: Callable[[float], None] = time.sleep
) -> ProbeResult:
    """Probe the new container until it is healthy; raise with the evidence.

    Healthy means ``health_successes`` good answers in a row on the HTTP
    probe, and, when the image has a Docker HEALTHCHECK, Docker calling it
    healthy too.
    """
    deadline = time.monotonic() + release.health_timeout
    history: list[str] = []
    address: tuple[str, int] | None = None
    streak = 0
    while True:
        if address is None:
            # A container that already exited has no published port.
            published = executor.run(docker.port(name, release.app_port), check=False)
            if published.returncode == 0:
                address = docker.parse_port(published.text)
        state = _state(executor, name)
        if address is not None:
            probe = executor.http_get(address[0], address[1], release.health_path, timeout=5.0)
            streak = streak + 1 if healthy(release, probe) else 0
            docker_ok = state is None or state.health in (None, "healthy")
            if streak >= release.health_successes and docker_ok:
                return probe
            history.append(probe.describe())
        if state is not None and state.status in ("exited", "dead", "restarting"):
            raise _health_failure(
                executor, name, release, f"the container stopped (exit code {state.exit_code})", history
            )
        if state is not None and state.health == "unhealthy":
            raise _health_failure(executor, name, release, "Docker's HEALTHCHECK reports it unhealthy", history)
        if time.monotonic() >= deadline:
            raise _health_failure(
                executor,
                name,
                release,
                f"no healthy answer from GET {release.health_path} within {release.health_timeout:g}s"
                + (f" (last: {history[-1]})" if history else ""),
                history,
            )
        sleep(release.health_interval)


def _health_failure(
    executor: Executor, name: str, release: Release, reason: str, history: list[str]
) -> HealthCheckFailed:
    details = [f"last probes: {', '.join(history[-5:])}"] if history else []
    state = _state(executor, name)
    if state is not None:
        details.append(f"container {name}: {state.status}, exit code {state.exit_code}")
    log_lines = _logs(executor, name)
    if log_lines:
        details.append("last log lines:")
        details += [f"  {line}" for line in log_lines]
    if history and all(entry.startswith("HTTP 404") for entry in history):
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
        f"{executor.name}: {release.service} {release.version} is not healthy: {reason}; "
        "the previous version keeps serving",
        hint=hint,
        details=tuple(details),
    )


def ensure_network(executor: Executor) -> None:
    if executor.run(docker.network_exists(), check=False).returncode != 0:
        executor.run(docker.network_create())


def ensure_image(executor: Executor, image: str) -> None:
    if executor.run(docker.image_exists(image), check=False).returncode != 0:
        executor.run(docker.pull(image), timeout=900)


def _write_site(executor: Executor, spec: proxy.ProxySpec, service: str, text: str) -> None:
    tar = proxy.config_tar({proxy.site_file(service): text})
    executor.run(docker.copy_tar_into(spec.name, proxy.CONFIG_DIR), input=tar)


def ensure_proxy(executor: Executor, spec: proxy.ProxySpec, first_sites: dict[str, str], stage: Stage) -> bool:
    """Create the host's proxy on first use (with ``first_sites`` already in
    place) or restart it if it was stopped; True when it was created."""
    state = _state(executor, spec.name)
    if state is None:
        stage.step(f"starting proxy {spec.name} on port {spec.public_port}")
        ensure_image(executor, spec.image)
        executor.run(proxy.create(spec))
        files = {"Caddyfile": proxy.main_caddyfile(), **first_sites}
        executor.run(docker.copy_tar_into(spec.name, proxy.CONFIG_DIR), input=proxy.config_tar(files))
        try:
            executor.run(docker.start(spec.name))
        except HostError as exc:
            executor.run(docker.remove([spec.name], force=True), check=False)
            busy = "allocated" in exc.stderr or "address already in use" in exc.stderr
            raise DeployError(
                f"{executor.name}: the proxy cannot start on port {spec.public_port}: {exc.message}",
                hint="another program uses that port; choose another with proxy.port in goship.yaml"
                if busy
                else f"check the proxy image {spec.image}",
            ) from None
        return True
    if not state.running:
        executor.run(docker.start(spec.name))
    if spec.https_port and executor.run(docker.port(spec.name, proxy.HTTPS_PORT), check=False).returncode != 0:
        raise DeployError(
            f"{executor.name}: proxy {spec.name} was created without an HTTPS port, which domains need",
            hint=f"recreate it once (a few seconds without traffic): docker rm -f {spec.name}, then deploy again",
        )
    return False


def switch_proxy(executor: Executor, spec: proxy.ProxySpec, service: str, new: str, old: str) -> None:
    """Install site text ``new``; if Caddy refuses it, put ``old`` back."""
    _write_site(executor, spec, service, new)
    executor.run(
        docker.copy_tar_into(spec.name, proxy.CONFIG_DIR),
        input=proxy.config_tar({"Caddyfile": proxy.main_caddyfile()}),
    )
    try:
        executor.run(proxy.reload(spec), timeout=60)
    except HostError as exc:
        _write_site(executor, spec, service, old)
        reason = exc.stderr.strip().splitlines()[-1] if exc.stderr.strip() else str(exc)
        raise DeployError(
            f"{executor.name}: the proxy refused the new route for {service}: {reason}",
            hint=f"see the proxy's log: docker logs {spec.name}",
        ) from None


def _wait_proxy(executor: Executor, host: Host, release: Release) -> ProbeResult:
    """Ask the proxy for the service as a client would. With domains, plain
    HTTP answers with Caddy's redirect to HTTPS, which shows the route is
    loaded (the upstream itself was probed directly just before)."""
    domain = release.domains[0] if release.domains else None
    deadline = time.monotonic() + 10
    while True:
        probe = executor.http_get(
            "127.0.0.1", host.proxy.public_port, release.health_path, timeout=5.0, host_header=domain
        )
        redirected = domain is not None and probe.status in (301, 302, 307, 308)
        if healthy(release, probe) or redirected or time.monotonic() > deadline:
            return ProbeResult(200, None, probe.seconds) if redirected else probe
        time.sleep(0.2)


def deploy_to_host(host: Host, release: Release, provide_image: ImageProvider, stage: Stage) -> HostResult:
    executor = host.executor
    stage = stage.on(host.name)
    executor.run(docker.server_version(), timeout=60)
    provide_image(executor)
    lock.acquire(executor, release.service, release.image, f"deploying {release.service} {release.version}")
    try:
        try:
            result = _replace(host, release, stage)
        except GoshipError as exc:
            _record(executor, host, release, "failed", stage, reason=exc.message)
            raise
        _record(executor, host, release, release.kind, stage, container=result.container)
        prune_images(executor, release, stage)
        return result
    finally:
        lock.release(executor, release.service)


def _record(executor: Executor, host: Host, release: Release, result: str, stage: Stage, **fields: str) -> None:
    record = history.ReleaseRecord(
        service=release.service,
        version=release.version,
        image=release.image,
        digest=release.digest,
        result=result,
        host=executor.name,
        revision=release.revision,
        deployed_by=history.deployer(),
        **fields,
    )
    try:
        # The state container is made from the proxy image, so it pins no
        # release image that pruning should be free to remove.
        ensure_image(executor, host.proxy.image)
        history.write(executor, record, host.proxy.image)
    except GoshipError as exc:
        # The deploy itself is decided; a history that cannot be written is
        # reported, not allowed to hide what happened to the service.
        stage.warn(f"could not record the release: {exc.message}")


def prune_images(executor: Executor, release: Release, stage: Stage) -> None:
    """Remove images of releases older than the newest ``keep`` successful
    ones. Only images goship recorded for this service are candidates, and
    never the current or the previous release's."""
    records = history.read(executor, release.service)
    kept: list[str] = []
    for record in reversed(records):
        if record.result in ("live", "rollback") and record.image not in kept:
            kept.append(record.image)
    keep = set(kept[: max(2, release.keep)]) | {release.image}
    stale = sorted({r.image for r in records} - keep)
    removed = [img for img in stale if executor.run(("docker", "image", "rm", img), check=False).returncode == 0]
    if removed:
        stage.info(f"pruned {len(removed)} old image(s)")


def live_container(executor: Executor, spec: proxy.ProxySpec, service: str) -> str | None:
    """The container the proxy routes the service to now, if any."""
    result = executor.run(proxy.copy_site_out(spec, service), check=False)
    routed = proxy.parse_upstream(result.stdout) if result.returncode == 0 else None
    # A route to a container that is gone (removed by hand) means nothing runs.
    return routed if routed and _state(executor, routed) is not None else None


def _replace(host: Host, release: Release, stage: Stage) -> HostResult:
    executor = host.executor
    ensure_network(executor)
    # Every app container of the service but the new one goes at the end,
    # including leftovers of an interrupted deploy; only the one the proxy
    # routes to is "live" and gets the traffic back on a failure.
    previous = _app_containers(executor, release.service)
    routed = live_container(executor, host.proxy, release.service)
    live_summary = next((c for c in previous if c.running and c.name == routed), None)
    live = live_summary.name if live_summary else None

    name = container_name(release)
    stage.step(f"starting {name}")
    secrets_file = env_file_text(release.secrets) if release.secrets else None
    with _secrets_source(host, secrets_file) as (env_file, stdin):
        _run_new(executor, release, name, env_file, stdin)
    try:
        probe = wait_healthy(executor, name, release)
        stage.ok(f"{name} healthy ({probe.describe()})")
        route = proxy.site_config(release.service, name, release.app_port, release.domains, release.tls)
        previous_route = (
            proxy.site_config(release.service, live, release.app_port, release.domains, release.tls)
            if live
            else proxy.no_site(release.service)
        )
        if not ensure_proxy(executor, host.proxy, {proxy.site_file(release.service): route}, stage):
            switch_proxy(executor, host.proxy, release.service, route, previous_route)
        through_proxy = _wait_proxy(executor, host, release)
        if not healthy(release, through_proxy):
            if live:
                switch_proxy(executor, host.proxy, release.service, previous_route, previous_route)
            raise DeployError(
                f"{host.name}: {release.service} is healthy but does not answer through the proxy "
                f"on port {host.proxy.public_port} ({through_proxy.describe()})"
                + ("; switched back" if live else ""),
                hint=f"check the proxy's log: docker logs {host.proxy.name}",
            )
        stage.ok(f"proxy switched to {name}")
        if release.watch_seconds > 0:
            _watch(executor, name, release, stage, switch_back=previous_route if live else None, spec=host.proxy)
    except (GoshipError, KeyboardInterrupt):
        executor.run(docker.remove([name], force=True), check=False)
        raise

    old = [c.name for c in previous]
    if old:
        time.sleep(release.drain_seconds)
        running = [c.name for c in previous if c.running]
        if running:
            executor.run(docker.stop(running, timeout=release.stop_timeout), timeout=release.stop_timeout + 60)
        executor.run(docker.remove(old, force=True))
        stage.info(f"removed {', '.join(old)}")
    url = host.url
    if release.domains:
        port = host.proxy.https_port
        url = f"https://{release.domains[0]}" + (f":{port}" if port not in (None, 443) else "")
    return HostResult(
        host.name,
        name,
        url,
        tuple(old),
        previous_image=live_summary.labels.get(docker.LABEL_IMAGE) if live_summary else None,
        previous_version=live_summary.labels.get(docker.LABEL_VERSION) if live_summary else None,
    )


def _watch(
    executor: Executor,
    name: str,
    release: Release,
    stage: Stage,
    switch_back: str | None,
    spec: proxy.ProxySpec,
) -> None:
    """Keep probing the new version for ``watch_seconds`` after the switch,
    while the old one still runs; on a failure, route traffic back to it."""
    stage.step(f"watching {name} for {release.watch_seconds:g}s")
    published = executor.run(docker.port(name, release.app_port), check=False)
    deadline = time.monotonic() + release.watch_seconds
    history: list[str] = []
    while time.monotonic() < deadline:
        state = _state(executor, name)
        probe = (
            executor.http_get(*docker.parse_port(published.text), release.health_path, timeout=5.0)
            if published.returncode == 0
            else None
        )
        if probe is not None:
            history.append(probe.describe())
        stopped = state is None or state.status in ("exited", "dead", "restarting")
        if stopped or probe is None or not healthy(release, probe) or state.health == "unhealthy":
            if switch_back is not None:
                switch_proxy(executor, spec, release.service, switch_back, switch_back)
            reason = (
                f"the container stopped (exit code {state.exit_code if state else '?'})"
                if stopped
                else f"it failed a health check ({history[-1] if history else 'no answer'})"
            )
            raise _health_failure(executor, name, release, f"{reason} during the watch period", history)
        time.sleep(release.health_interval)
