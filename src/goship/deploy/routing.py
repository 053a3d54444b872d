"""Changing what a host's proxy routes: read the route table, heal it, apply it.

Every change goes the same way, under the proxy's own lock (deploys of
other services on the same host wait their turn for this short part):
read the table, drop routes whose container is gone, put the new route in
(or refuse it, before anything changed), render the whole Caddyfile and
make the proxy serve it. A route goes to one container (``change``) or is
shared between several by weight (``split``):

* a running proxy reloads: Caddy loads the new configuration or keeps the
  old one, and goship then puts the old files back;
* a proxy that is new, stopped or restarting in a loop is given the files,
  checked with ``caddy validate`` in a one-off container from the proxy
  image, and only then started - goship never leaves a proxy that cannot
  start.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from goship.deploy import lock, proxy, routes
from goship.deploy.clock import REAL_CLOCK, Clock
from goship.deploy.routes import Route
from goship.deploy.specs import LABEL_ROLE
from goship.deploy.targets import Host
from goship.engine.api import ContainerState
from goship.engine.client import Engine
from goship.errors import DeployError, HostError
from goship.events import Stage

Table = dict[str, Route]


def read_table(host: Host, *, create: bool = False, state: ContainerState | None = None) -> Table:
    """The route table of the host's proxy.

    From its status window when it runs (one probe, a few milliseconds),
    else from its configuration volume. A proxy container removed by hand
    leaves its volume: with ``create`` it is made again (not started) to
    read that. A proxy made before the route table has site files, which
    become routes. ``state``: the proxy container as just inspected, if the
    caller has it.
    """
    engine, spec = host.engine, host.proxy
    state = state or engine.inspect(spec.name)
    if state is not None and state.running and not state.restarting:
        status = state.published(proxy.STATUS_PORT)
        if status is not None:
            body = host.prober.get_body(status[0], status[1], routes.TABLE_URL, timeout=2.0)
            table = proxy.parse_table(body) if body is not None else None
            if table is not None:
                return table
    if state is None:
        if not create or not engine.volumes(names=[spec.volume]):
            return {}
        ensure_proxy_container(host)
    data = engine.get_archive(spec.name, proxy.TABLE_PATH)
    table = proxy.parse_table(proxy.tar_files(data).get("routes.json", b"")) if data is not None else None
    if table is not None:
        return table
    legacy = engine.get_archive(spec.name, proxy.LEGACY_SITES)
    return proxy.legacy_table(legacy) if legacy is not None else {}


def healed(engine: Engine, table: Mapping[str, Route], present: set[str] | None = None) -> tuple[Table, list[str]]:
    """The table without upstreams whose container is gone, nor routes left with none that gets
    requests; and the services dropped. ``present``: the app containers running, if the caller has them."""
    present = _running_apps(engine) if present is None else present
    kept: Table = {}
    dropped = []
    for service, route in table.items():
        still = routes.present(route, present)
        if still is None:
            dropped.append(service)
        else:
            kept[service] = still
    return kept, sorted(dropped)


def _running_apps(engine: Engine) -> set[str]:
    return {c.name for c in engine.containers({LABEL_ROLE: "app"})}


def ensure_proxy_container(host: Host) -> None:
    """Create the proxy (not started) unless it exists; under ``locked``, which pulled its image."""
    engine, spec = host.engine, host.proxy
    if engine.inspect(spec.name) is None:
        engine.create(spec.name, proxy.container(spec))


@contextmanager
def locked(host: Host, message: str, clock: Clock = REAL_CLOCK) -> Iterator[None]:
    """The proxy's lock, waited for (another service's switch takes well under a second)."""
    engine, spec = host.engine, host.proxy
    if engine.image(spec.image) is None:
        engine.pull(spec.image)
    lock.acquire(engine, spec.lock, spec.image, message, wait=60.0, named=True, clock=clock)
    try:
        yield
    finally:
        lock.release(engine, spec.lock, named=True)


def _install(engine: Engine, spec: proxy.ProxySpec, table: Mapping[str, Route]) -> None:
    engine.put_archive(spec.name, proxy.CONFIG_DIR, proxy.config_tar(proxy.config_files(table)))


def reload(engine: Engine, spec: proxy.ProxySpec) -> None:
    """``caddy reload`` in the proxy: Caddy loads the new configuration or keeps the old one."""
    code, output = engine.exec(spec.name, proxy.RELOAD, timeout=60)
    if code != 0:
        raise HostError(f"{engine.name}: caddy reload failed (exit code {code})", host=engine.name,
                        stderr=_caddy_reason(output))


def _caddy_reason(output: list[str]) -> str:
    lines = [line for line in output if line.strip()]
    return next((line for line in reversed(lines) if line.startswith("Error:")), lines[-1] if lines else "")


def validate(host: Host) -> str | None:
    """``caddy validate`` of the files in the proxy's volume, in a one-off container; Caddy's reason, or None."""
    engine, spec = host.engine, host.proxy
    name = f"goship-proxycheck-{spec.public_port}-{secrets.token_hex(3)}"
    engine.create(name, proxy.container(spec, command=proxy.VALIDATE))
    try:
        engine.start(name)
        code = engine.wait(name, timeout=60)
        return None if code == 0 else _caddy_reason(engine.logs(name, tail=20)) or f"caddy validate exited with {code}"
    finally:
        engine.remove(name)


def proxy_trouble(engine: Engine, spec: proxy.ProxySpec, state: ContainerState | None = None) -> list[str] | None:
    """The evidence that the proxy is not running properly (None when it is); ``state``
    is the proxy container as just inspected, if the caller has it."""
    state = state or engine.inspect(spec.name)
    if state is None or (state.running and not state.restarting) or state.status == "created":
        return None
    lines = [f"proxy {spec.name}: {state.status}, exit code {state.exit_code}, restarted {state.restart_count} times"]
    log = engine.logs(spec.name, tail=10)
    return lines + ([f"  {line}" for line in log] if log else [])


def apply(host: Host, table: Mapping[str, Route], before: Mapping[str, Route], stage: Stage,
          state: ContainerState | None) -> None:
    """Make the proxy serve ``table`` (``before`` is what it served, put back if Caddy refuses);
    ``state`` is the proxy container as it is now (None: there is none)."""
    engine, spec = host.engine, host.proxy
    if state is not None and state.running and not state.restarting:
        if spec.https_port and state.published(proxy.HTTPS_PORT) is None:
            raise DeployError(
                f"{engine.name}: proxy {spec.name} was created without an HTTPS port, which domains need",
                hint=f"recreate it once (a few seconds without traffic): docker rm -f {spec.name}, then deploy again",
            )
        _install(engine, spec, table)
        try:
            reload(engine, spec)
        except HostError as exc:
            _install(engine, spec, before)
            raise DeployError(
                f"{engine.name}: the proxy refused the new configuration: {exc.stderr or exc.message}",
                hint=f"nothing changed; see the proxy's log: docker logs {spec.name}",
            ) from None
        return
    trouble = proxy_trouble(engine, spec, state) if state is not None else None
    created = state is None
    if trouble:
        stage.warn(f"{trouble[0]}; restarting it with a checked configuration")
        for line in trouble[1:]:
            stage.info(line)
        engine.stop(spec.name, 10)  # out of its restart loop while the files change
    if created:
        stage.step(f"starting proxy {spec.name} on port {spec.public_port}")
        ensure_proxy_container(host)
    _install(engine, spec, table)
    refused = validate(host)
    if refused:
        if created:
            engine.remove(spec.name)
        raise DeployError(
            f"{engine.name}: Caddy refuses the proxy's configuration: {refused}",
            hint=f"the proxy is not started with it; see 'goship status' and docker logs {spec.name}",
        )
    try:
        engine.start(spec.name)
    except HostError as exc:
        if created:
            engine.remove(spec.name)
        busy = "allocated" in exc.message or "address already in use" in exc.message
        raise DeployError(
            f"{engine.name}: the proxy cannot start on port {spec.public_port}: "
            f"{exc.message.removeprefix(engine.name + ': ')}",
            hint="another program uses that port; choose another with proxy.port in goship.yaml"
            if busy
            else f"check the proxy image {spec.image}",
        ) from None


def change(
    host: Host,
    service: str,
    stage: Stage,
    *,
    to: tuple[str, int, routes.Wanted] | None,
    draining: str | None = None,
    clock: Clock = REAL_CLOCK,
) -> Route | None:
    """Route ``service`` to a container (``to``: name, port, what goship.yaml wants), or
    nowhere (``to=None``), with the table healed, under the proxy's lock.

    Raises DeployError, with nothing changed, when another service holds
    what the route needs. Returns the service's route now served.
    """
    target = None if to is None else (routes.single(to[0], to[1], draining), to[2])
    return _edit(host, service, stage, f"routing {service}", target, clock)[0]


def to_replicas(
    host: Host,
    key: str,
    stage: Stage,
    *,
    serving: Sequence[str],
    port: int,
    wanted: routes.Wanted,
    draining: Sequence[str] = (),
    clock: Clock = REAL_CLOCK,
) -> Route | None:
    """Route ``key`` (a service, or ``service:role``) to the containers ``serving``, an equal
    share each, the ones they replace draining; with none serving, nowhere. One container
    with one draining is routed exactly as ``change`` routes it. Returns the route now served."""
    if not serving:
        return _edit(host, key, stage, f"unrouting {key}", None, clock)[0]
    upstreams = routes.checked_upstreams(
        [(name, port, 1) for name in serving] + [(name, port, 0) for name in draining if name not in serving]
    )
    return _edit(host, key, stage, f"routing {key}", (upstreams, wanted), clock)[0]


def split(
    host: Host,
    service: str,
    stage: Stage,
    *,
    upstreams: Sequence[tuple[str, int, int]],
    wanted: routes.Wanted,
    clock: Clock = REAL_CLOCK,
) -> Route:
    """Share ``service``'s requests between containers by weight (``upstreams``: name, port,
    weight; 1 and 3 send one request in four to the first, 0 drains), with the table healed,
    under the proxy's lock. One container with a weight is routed exactly as ``change`` routes it.

    Raises DeployError, with nothing changed, when a weight is not a whole
    number of 0 or more (or none is above 0), a container that would get
    requests does not run on the host, or another service holds what the
    route needs. Returns the service's route now served.
    """
    checked = routes.checked_upstreams(upstreams)
    new = _edit(host, service, stage, f"splitting {service}", (checked, wanted), clock, running=True)[0]
    assert new is not None
    return new


def unroute(host: Host, service: str, stage: Stage, clock: Clock = REAL_CLOCK) -> Table:
    """Route ``service`` and its roles (``service:role``) nowhere (healing the rest); the table the proxy serves now."""
    return _edit(host, service, stage, f"unrouting {service}", None, clock, roles_too=True)[1]


def drop(host: Host, keys: list[str], stage: Stage, clock: Clock = REAL_CLOCK) -> None:
    """Remove these routes (a role the release no longer runs), each one alone."""
    for key in keys:
        _edit(host, key, stage, f"unrouting {key}", None, clock)


def _edit(
    host: Host,
    service: str,
    stage: Stage,
    message: str,
    to: tuple[tuple[routes.Upstream, ...], routes.Wanted] | None,
    clock: Clock,
    *,
    running: bool = False,
    roles_too: bool = False,
) -> tuple[Route | None, Table]:
    """The one way a route changes: locked, read, healed, edited, applied. ``running``: refuse
    upstreams that would get requests but whose container does not run on the host."""
    engine, name = host.engine, host.proxy.name
    with locked(host, message, clock):
        state = engine.inspect(name)
        before = read_table(host, create=True, state=state)
        if state is None:  # reading may have made it again, from its volume
            state = engine.inspect(name)
        present = _running_apps(engine)
        table, dropped = healed(engine, before, present)
        if dropped:
            stage.info(f"dropped the routes of {', '.join(dropped)}: no container of theirs is left on this host")
        new = None
        if to is not None:
            upstreams, wanted = to
            missing = [u.name for u in upstreams if u.weight > 0 and u.name not in present] if running else []
            if missing:
                raise DeployError(
                    f"{engine.name}: {service} cannot send requests to {', '.join(missing)}: no such container runs here",
                    hint="start it first (docker ps -a lists the service's containers), or leave it out of the split",
                )
            new = routes.route_to(service, upstreams, wanted, table.values())
            table[service] = new
        else:
            for key in [k for k in table if k == service or (roles_too and k.startswith(service + ":"))]:
                del table[key]
        apply(host, table, before, stage, state)
        return new, table


def precheck(host: Host, service: str, port: int, wanted: routes.Wanted) -> None:
    """Refuse, before anything changes, a route another service on the proxy already holds."""
    table, _ = healed(host.engine, read_table(host))
    routes.route_for(service, f"{service}-new", port, wanted, table.values())
