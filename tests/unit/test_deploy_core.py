"""The deploy state machine against the fake engine: every branch, each case as data.

Each host is a FakeEngine (a model of a Docker host answering the very
Engine API requests goship sends) with its FakeProber; time is a FakeClock,
so health timeouts and watch windows pass instantly. The e2e tests run the
same code against real dockerd, Caddy and SSH.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from goship.config import Config
from goship.config.model import DeployConfig, HealthConfig, TargetConfig
from goship.deploy import lock
from goship.deploy.rollout import deploy_to_host, ensure_image, live_container
from goship.errors import DeployError, GoshipError, HealthCheckFailed
from goship.events import CollectingReporter, Stage
from goship.project import GoMod, Project
from goship.testing.engine import Behaviour, Crash, FakeClock
from goship.testing.prober import FakeProber
from tests.unit.helpers import HEALTHY, SERVICE, FakeHost, fake_host, image, pushed_build, release, ship

# --- one host, one deploy: the table -------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    new: Behaviour = HEALTHY
    settings: dict[str, object] = field(default_factory=dict)
    first_deploy: bool = False
    error: str | None = None  # a fragment of the error, None: success
    serves: str | None = "2"  # what the proxy serves afterwards
    apps: tuple[str, ...] = ("2",)
    results: tuple[str, ...] = ("live", "live")


CASES = [
    Case("healthy switch"),
    Case("first deploy", first_deploy=True, results=("live",)),
    Case("slow start within the timeout", new=Behaviour(ready_after=3.0)),
    Case("never healthy", new=Behaviour(status=503), error="is not healthy", serves="1", apps=("1",), results=("live", "failed")),
    Case("never listens", new=Behaviour(ready_after=99), error="within 5s", serves="1", apps=("1",), results=("live", "failed")),
    Case("crashes at start", new=Behaviour(exit_code=3, logs=("missing DATABASE_URL",)), error="exited with code 3 and was restarted once",
         serves="1", apps=("1",), results=("live", "failed")),
    Case("exact status wanted", new=Behaviour(status=204), settings={"health_status": 204}),
    Case("wrong exact status", new=Behaviour(status=200), settings={"health_status": 204}, error="HTTP 200",
         serves="1", apps=("1",), results=("live", "failed")),
    Case("fails inside the watch window", new=Behaviour(fails_after=2.0), settings={"watch_seconds": 5.0},
         error="during the watch period", serves="1", apps=("1",), results=("live", "failed")),
    Case("healthy through the watch window", settings={"watch_seconds": 3.0}),
    Case("two healthy answers needed", settings={"health_successes": 2}),
    Case("no health route: any answer below 500 will do", new=Behaviour(status=404), settings={"health_type": "answers"}),
    Case("an answer of 500 is no answer", new=Behaviour(status=500), settings={"health_type": "answers"},
         error="HTTP 500", serves="1", apps=("1",), results=("live", "failed")),
    Case("a TCP service is healthy when it accepts", settings={"health_type": "tcp"}),
    Case("a TCP service that never listens", new=Behaviour(ready_after=99), settings={"health_type": "tcp"},
         error="within 5s", serves="1", apps=("1",), results=("live", "failed")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rollout(case: Case):
    fake = fake_host()
    if not case.first_deploy:
        ship(fake, "1")
    if case.error is None:
        result = ship(fake, "2", case.new, **case.settings)
        assert result.container.startswith("hello-2-")
    else:
        with pytest.raises(GoshipError, match=case.error):
            ship(fake, "2", case.new, **case.settings)
    assert fake.serves() == case.serves
    assert fake.apps() == list(case.apps)
    assert [result for _, result in fake.results()] == list(case.results)
    assert lock.status(fake.host.engine, SERVICE) is None  # released whatever happened


def test_healthy_switch_makes_exactly_these_changes():
    fake = fake_host()
    ship(fake, "1")
    [old] = [c.name for c in fake.engine.app_containers(SERVICE)]
    start = len(fake.engine.calls())
    ship(fake, "2")
    [new] = [c.name for c in fake.engine.app_containers(SERVICE)]
    exec_id = next(reversed(fake.engine.execs))
    assert fake.engine.calls()[start:] == [
        "POST /containers/create name=goship-lock-hello",
        f"POST /containers/create name={new}",
        f"POST /containers/{new}/start",
        "POST /containers/create name=goship-proxylock-80",  # the proxy's own lock, only around the switch
        "PUT /containers/goship-proxy-80/archive path=/etc/caddy",
        "POST /containers/goship-proxy-80/exec",
        f"POST /exec/{exec_id}/start",
        "DELETE /containers/goship-proxylock-80",
        f"POST /containers/{old}/stop t=10",
        f"DELETE /containers/{old}",
        "PUT /containers/goship-state-hello/archive path=/state",
        "DELETE /containers/goship-lock-hello",
    ]


def test_new_container_is_healthy_before_the_proxy_is_touched():
    fake = fake_host()
    ship(fake, "1")
    fake.engine.requests.clear()
    ship(fake, "2")
    paths = [r.describe() for r in fake.engine.requests]
    started = next(i for i, p in enumerate(paths) if p.startswith("POST /containers/hello-2-") and p.endswith("/start"))
    switched = next(i for i, p in enumerate(paths) if p.startswith("PUT /containers/goship-proxy-80/archive"))
    assert started < switched
    assert any(port != 80 for port, _, _ in fake.prober.probes)  # probed directly first


def test_unhealthy_new_version_never_reaches_the_proxy():
    fake = fake_host()
    ship(fake, "1")
    fake.engine.requests.clear()
    with pytest.raises(HealthCheckFailed) as failure:
        ship(fake, "2", Behaviour(status=500, logs=("panic: boom",)))
    assert not any(r.path.startswith("/containers/goship-proxy-80/") and r.method != "GET" for r in fake.engine.requests)
    assert "  panic: boom" in failure.value.details
    assert "last probes: HTTP 500" in failure.value.details[0]


def test_lock_held_by_another_machine_refuses_and_changes_nothing():
    fake = fake_host()
    ship(fake, "1")
    info = lock.LockInfo("carol", "elsewhere", 1, 1700000000, "hotfix")
    fake.host.engine.create(lock.lock_name(SERVICE), lock.lock_container(SERVICE, "caddy:2", info))
    fake.engine.requests.clear()
    with pytest.raises(DeployError, match="hello is locked by carol on elsewhere .pid 1.*hotfix"):
        ship(fake, "2")
    assert fake.apps() == ["1"] and fake.serves() == "1"
    assert lock.status(fake.host.engine, SERVICE) == lock.parse_lock(fake.engine.containers["goship-lock-hello"].labels)


def test_stale_lock_of_a_dead_local_process_is_taken_over():
    fake = fake_host()
    ship(fake, "1")
    dead = replace(lock.me("killed deploy"), pid=2**22 + 12345)
    fake.host.engine.create(lock.lock_name(SERVICE), lock.lock_container(SERVICE, "caddy:2", dead))
    ship(fake, "2")
    assert fake.serves() == "2"


def test_a_stale_lock_the_engine_keeps_ends_in_an_error_not_a_spin(monkeypatch):
    fake = fake_host()
    dead = replace(lock.me("killed deploy"), pid=2**22 + 12345)
    fake.host.engine.create(lock.lock_name(SERVICE), lock.lock_container(SERVICE, "caddy:2", dead))
    monkeypatch.setattr(fake.host.engine, "remove", lambda name, **options: None)  # removal that does nothing
    with pytest.raises(DeployError, match="hello is locked by .*killed deploy"):
        lock.acquire(fake.host.engine, SERVICE, "caddy:2", "deploy", wait=2.0, clock=fake.clock)


def test_proxy_refusing_the_new_route_keeps_the_old_one():
    fake = fake_host()
    ship(fake, "1")
    fake.engine.caddy_refuses = lambda files: "loading new config: tls: unknown issuer" if "hello-2-" in files.get("Caddyfile", "") else None
    with pytest.raises(DeployError, match="the proxy refused the new configuration: Error: sending configuration"):
        ship(fake, "2")
    assert fake.serves() == "1" and fake.apps() == ["1"]
    assert fake.table()["hello"]["upstream"].startswith("hello-1-")  # the old files are back


def test_busy_proxy_port_is_explained():
    fake = fake_host()
    fake.engine.add_image("other:1")
    fake.host.engine.create("squatter", _listening_on(80))
    fake.host.engine.start("squatter")
    with pytest.raises(DeployError, match="the proxy cannot start on port 80.*port is already allocated") as failure:
        ship(fake, "1")
    assert "proxy.port" in (failure.value.hint or "")
    assert "goship-proxy-80" not in fake.engine.containers and fake.apps() == []


def _listening_on(port: int):
    from goship.engine.api import ContainerSpec, PortBinding

    return ContainerSpec(image="other:1", publish=(PortBinding(8080, "0.0.0.0", port),))


def test_draining_waits_for_requests_in_flight_then_stops_the_old_one():
    fake = fake_host()
    ship(fake, "1")
    old = fake.engine.app_containers(SERVICE)[0].name
    fake.engine.in_flight[f"{old}:8080"] = fake.clock.now + 0.7  # a slow request still being answered
    start = fake.clock.now
    ship(fake, "2", drain_seconds=5.0)
    # Waited for the request (about 0.7 s of fake time), not the whole drain period.
    assert 0.5 <= fake.clock.now - start < 5.0
    assert fake.apps() == ["2"]


def test_draining_is_bounded_by_deploy_drain():
    fake = fake_host()
    ship(fake, "1")
    old = fake.engine.app_containers(SERVICE)[0].name
    fake.engine.in_flight[f"{old}:8080"] = fake.clock.now + 600  # a request that never ends
    start = fake.clock.now
    ship(fake, "2", drain_seconds=2.0)
    assert 2.0 <= fake.clock.now - start < 10


def test_leftovers_of_an_interrupted_deploy_are_cleaned_up():
    fake = fake_host()
    ship(fake, "1")
    fake.engine.add_image(image("x"))
    from goship.deploy.specs import AppContainer, app_container

    fake.host.engine.create("hello-x-dead", app_container(AppContainer("hello-x-dead", image("x"), SERVICE, "x", 8080)))
    ship(fake, "2")
    assert fake.apps() == ["2"]


def test_a_route_to_a_removed_container_counts_as_not_deployed():
    fake = fake_host()
    ship(fake, "1")
    fake.host.engine.remove(fake.engine.app_containers(SERVICE)[0].name)
    assert live_container(fake.host, SERVICE) is None
    ship(fake, "2")
    assert fake.serves() == "2"


def test_history_write_failure_is_a_warning_not_a_failed_deploy():
    fake = fake_host()
    ship(fake, "1")
    fake.engine.fail("PUT", r"/containers/goship-state-hello/archive", 500, "disk full", times=None)
    reporter = CollectingReporter()
    ship(fake, "2", reporter=reporter)
    assert fake.serves() == "2"
    assert any(e.level == "warn" and "could not record the release" in e.message for e in reporter.events)


def test_pruning_keeps_the_current_and_previous_releases():
    fake = fake_host()
    for version in "12345":
        ship(fake, version, keep=2)
    kept = {ref for ref in fake.engine.images if ref.startswith("reg:5000/hello")}
    assert kept == {image("4"), image("5")}
    assert fake.serves() == "5"


# --- a goship killed at any request: the service keeps answering, the next deploy succeeds -------


def _changing_requests_of_one_deploy() -> int:
    fake = fake_host()
    ship(fake, "1")
    before = len(fake.engine.calls())
    ship(fake, "2")
    return len(fake.engine.calls()) - before


@pytest.mark.parametrize("crash_at", range(_changing_requests_of_one_deploy()))
def test_crash_at_each_step_then_deploy_again(crash_at):
    fake = fake_host()
    ship(fake, "1")
    fake.engine.crash_after = len(fake.engine.calls()) + crash_at
    with pytest.raises(Crash):
        ship(fake, "2")
    fake.engine.crash_after = None
    # Whatever step goship died at, a version keeps answering through the proxy.
    assert fake.serves() in ("1", "2")
    # The killed run's locks name this machine and a pid that is gone: taken over.
    for name in ("goship-lock-hello", "goship-proxylock-80"):
        held = fake.engine.containers.get(name)
        if held is not None:
            held.body["Labels"]["goship.lock.pid"] = str(2**22 + 4242)
    ship(fake, "3")
    assert fake.serves() == "3" and fake.apps() == ["3"]
    assert fake.results()[-1] == ("3", "live")


# --- several hosts: a failure on one returns the others to what they ran ------------------------


def _project(tmp_path: Path, hosts: list[str], batch: int = 1) -> Project:
    config = Config(
        service=SERVICE, image="reg:5000/hello",
        health=HealthConfig(timeout=5.0),
        deploy=DeployConfig(drain=0.5, batch=batch),
        targets={"production": TargetConfig(hosts=hosts)},
    )
    return Project(tmp_path, GoMod("example.com/hello"), config, tmp_path / "goship.yaml", SERVICE, ".")


def _session(project: Project, *fakes: FakeHost, cancel=None):
    """A session whose SSH hosts are these fakes (by the name goship.yaml gives them)."""
    from goship.session import Session

    connections = {fake.host.name: fake.host.connection for fake in fakes}
    return Session(project, clock=fakes[0].clock, cancel=cancel, connect_ssh=lambda target, shell: connections[target.label])




def test_a_failure_on_the_second_host_rolls_the_first_back(tmp_path):
    from goship.commands import pipeline

    clock = FakeClock()
    one, two = fake_host("root@web1", clock), fake_host("root@web2", clock)
    project = _project(tmp_path, ["root@web1", "root@web2"])
    for version, behaviour_two in (("1", Behaviour()), ("2", Behaviour(status=503))):
        built = pushed_build(tmp_path, version)
        for fake, behaviour in ((one, Behaviour()), (two, behaviour_two)):
            fake.engine.add_image(f"reg:5000/hello@{built.digest}", behaviour, pullable=True)
        if version == "1":
            pipeline.deploy(_session(project, one, two), "production", built)
        else:
            with pytest.raises(HealthCheckFailed) as failure, _session(project, one, two) as session:
                pipeline.deploy(session, "production", built)
    assert "root@web1: rolled back to 1" in failure.value.details
    assert one.serves() == "1" and two.serves() == "1"
    assert [r for _, r in one.results()] == ["live", "live", "rollback"]
    assert [r for _, r in two.results()] == ["live", "failed"]
    assert one.engine.closed and two.engine.closed


def test_an_unreachable_host_in_a_batch_leaves_the_other_untouched(tmp_path):
    from goship.commands import pipeline

    clock = FakeClock()
    one, two = fake_host("root@web1", clock), fake_host("root@web2", clock)
    project = _project(tmp_path, ["root@web1", "root@web2"], batch=2)
    built = pushed_build(tmp_path, "1")
    for fake in (one, two):
        fake.engine.add_image(f"reg:5000/hello@{built.digest}", Behaviour(), pullable=True)
    pipeline.deploy(_session(project, one, two), "production", built)
    built = pushed_build(tmp_path, "2")
    one.engine.add_image(f"reg:5000/hello@{built.digest}", Behaviour(), pullable=True)
    # web2's registry lost the new image: its pull fails, web1 (deployed in the same batch) goes back.
    with pytest.raises(GoshipError, match="root@web2: pulling .* manifest unknown") as failure:
        pipeline.deploy(_session(project, one, two), "production", built)
    assert "root@web1: rolled back to 1" in failure.value.details
    assert one.serves() == "1" and two.serves() == "1"


def test_hosts_pull_with_the_deployers_credentials_in_the_request(tmp_path, monkeypatch):
    from goship.commands import pipeline
    from goship.registry.client import RegistryClient

    monkeypatch.setattr(RegistryClient, "pull_token", lambda self, repository: None)  # a Basic-auth registry
    monkeypatch.setenv("GOSHIP_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("GOSHIP_REGISTRY_PASSWORD", "s3cret")
    fake = fake_host()
    fake.engine.registry_auth["reg:5000"] = ("ci", "s3cret")
    project = _project(tmp_path, ["root@web1"])
    built = pushed_build(tmp_path, "1")
    fake.engine.add_image(f"reg:5000/hello@{built.digest}", Behaviour(), pullable=True)
    pipeline.deploy(_session(project, fake), "production", built)
    assert fake.serves() == "1"
    pull = next(r for r in fake.engine.requests if r.path == "/images/create")
    assert "X-Registry-Auth" in dict(pull.headers) and "s3cret" not in repr(pull)


# --- operations: rollback, status ----------------------------------------------------------------


def test_rollback_to_the_previous_release_and_to_a_named_one(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    project = _project(tmp_path, ["root@web1"])
    for version in "123":
        ship(fake, version)
    [back] = operations.rollback(_session(project, fake), "production")
    assert back.container.startswith("hello-2-") and fake.serves() == "2"
    operations.rollback(_session(project, fake), "production", version="1")
    assert fake.serves() == "1"
    assert fake.results()[-2:] == [("2", "rollback"), ("1", "rollback")]
    with pytest.raises(DeployError, match="has no release 9 to roll back to"):
        operations.rollback(_session(project, fake), "production", version="9")


def test_rollback_without_history_says_so(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    with pytest.raises(DeployError, match="no earlier successful release"):
        operations.rollback(_session(_project(tmp_path, ["root@web1"]), fake), "production")


def test_status_reports_the_live_version_and_its_health(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    project = _project(tmp_path, ["root@web1"])
    [before] = operations.status(_session(project, fake), "production")
    assert before.state == "not deployed"
    ship(fake, "7")
    [row] = operations.status(_session(project, fake), "production")
    assert (row.version, row.state, row.health.split(" ")[:2]) == ("7", "running", ["HTTP", "200"])
    assert row.container and row.container.startswith("hello-7-")




def test_a_version_failing_in_the_watch_is_drained_before_it_goes():
    fake = fake_host()
    ship(fake, "1")
    [live] = [c.name for c in fake.engine.app_containers(SERVICE)]
    original = FakeProber.get_body
    asked: list[str] = []

    def counting(self, host, port, path, timeout=5.0):
        asked.append(path)
        return original(self, host, port, path, timeout)

    FakeProber.get_body = counting  # type: ignore[method-assign]
    try:
        with pytest.raises(HealthCheckFailed, match="during the watch period"):
            ship(fake, "2", Behaviour(fails_after=1.0), watch_seconds=5.0)
    finally:
        FakeProber.get_body = original  # type: ignore[method-assign]
    route = fake.table()["hello"]
    # Traffic went back to the live one; the failed one stayed listed second while its requests drained.
    assert route["upstream"] == live and route["draining"].startswith("hello-2-")
    assert "/reverse_proxy/upstreams" in asked
    assert fake.serves() == "1" and fake.apps() == ["1"]


@pytest.mark.parametrize(
    ("behaviour", "first", "message", "hint"),
    [
        (Behaviour(exit_code=127, logs=("exec: hello: not found",)), False,
         "exited with code 127 and was restarted once by its restart policy; the previous version keeps serving",
         "its last log lines say why"),
        (Behaviour(exit_code=1, logs=("PORT must be set",)), True,
         "exited with code 1", "its last log lines say why"),
        (Behaviour(exit_code=137, oom=True), False, "killed for using more memory", "raise app.resources.memory"),
        (Behaviour(ready_after=99), False, "no healthy answer", "nothing accepts connections on port 8080"),
        (Behaviour(status=503), False, "HTTP 503", "answers HTTP 503: make it answer 2xx"),
        (Behaviour(status=404), True, "there was no previous version here", "has no /healthz endpoint"),
    ],
)
def test_health_reports_tell_the_truth(behaviour, first, message, hint):
    fake = fake_host()
    if not first:
        ship(fake, "1")
    with pytest.raises(HealthCheckFailed) as failure:
        ship(fake, "2", behaviour)
    assert message in failure.value.message
    assert ("the previous version keeps serving" in failure.value.message) is (not first)
    assert hint in (failure.value.hint or "")
    if behaviour.exit_code is not None and behaviour.logs:
        # the program's own last words come first: they say why it stopped
        assert failure.value.details[:2] == ("its last log lines:", f"  {behaviour.logs[0]}")


def test_with_a_token_service_hosts_get_a_pull_only_token_not_the_password(tmp_path, monkeypatch):
    import base64

    from goship.commands import pipeline
    from goship.registry.client import RegistryClient

    asked: list[str] = []

    def pull_token(self, repository):
        asked.append(repository)
        return "pull-only-token"

    monkeypatch.setattr(RegistryClient, "pull_token", pull_token)
    monkeypatch.setenv("GOSHIP_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("GOSHIP_REGISTRY_PASSWORD", "s3cret")
    fake = fake_host()
    project = _project(tmp_path, ["root@web1"])
    built = pushed_build(tmp_path, "1")
    fake.engine.add_image(f"reg:5000/hello@{built.digest}", Behaviour(), pullable=True)
    pipeline.deploy(_session(project, fake), "production", built)
    pull = next(r for r in fake.engine.requests if r.path == "/images/create")
    sent = json.loads(base64.urlsafe_b64decode(dict(pull.headers)["X-Registry-Auth"]))
    assert sent == {"registrytoken": "pull-only-token", "serveraddress": "reg:5000"}
    assert asked == ["hello"]


# --- Ctrl-C: stop at a safe point ----------------------------------------------------------------


def _interrupt_after_probes(fake: FakeHost, event, probes: int) -> None:
    original = fake.prober.http_get
    count = {"n": 0}

    def counting(*args, **kwargs):
        count["n"] += 1
        if count["n"] == probes:
            event.set()
        return original(*args, **kwargs)

    fake.prober.http_get = counting  # type: ignore[method-assign]


def _ship_cancellable(fake: FakeHost, version: str, event, behaviour: Behaviour = HEALTHY, **settings):
    from goship.deploy.clock import Cancellable

    fake.engine.add_image(image(version), behaviour)
    rel = release(version, **settings)
    return deploy_to_host(fake.host, rel, lambda engine: ensure_image(engine, rel.image),
                          Stage(CollectingReporter(), "deploy"), Cancellable(fake.clock, event))


def test_ctrl_c_while_the_new_version_starts_leaves_the_old_one_and_nothing_else():
    import threading

    from goship.errors import Interrupted

    fake = fake_host()
    ship(fake, "1")
    event = threading.Event()
    _interrupt_after_probes(fake, event, 2)
    with pytest.raises(Interrupted) as stopped:
        _ship_cancellable(fake, "2", event, Behaviour(ready_after=3.0))
    assert stopped.value.exit_code == 130
    assert fake.serves() == "1" and fake.apps() == ["1"]
    assert lock.status(fake.host.engine, SERVICE) is None
    assert fake.results()[-1] == ("2", "failed")


def test_ctrl_c_during_the_watch_switches_back():
    import threading

    from goship.errors import Interrupted

    fake = fake_host()
    ship(fake, "1")
    event = threading.Event()
    _interrupt_after_probes(fake, event, 4)  # healthy, switched, then inside the watch window
    with pytest.raises(Interrupted):
        _ship_cancellable(fake, "2", event, watch_seconds=10.0)
    assert fake.serves() == "1" and fake.apps() == ["1"]
    assert fake.table()["hello"]["upstream"].startswith("hello-1-")


def test_ctrl_c_in_a_rolling_deploy_returns_every_host_to_what_it_ran(tmp_path):
    import threading

    from goship.commands import pipeline
    from goship.errors import Interrupted

    clock = FakeClock()
    one, two = fake_host("root@web1", clock), fake_host("root@web2", clock)
    project = _project(tmp_path, ["root@web1", "root@web2"])
    first = pushed_build(tmp_path, "1")
    for fake in (one, two):
        fake.engine.add_image(f"reg:5000/hello@{first.digest}", Behaviour(), pullable=True)
    pipeline.deploy(_session(project, one, two), "production", first)
    second = pushed_build(tmp_path, "2")
    for fake in (one, two):
        fake.engine.add_image(f"reg:5000/hello@{second.digest}", Behaviour(ready_after=2.0), pullable=True)
    event = threading.Event()
    _interrupt_after_probes(two, event, 2)  # web1 is done; web2 is still starting
    with pytest.raises(Interrupted) as stopped:
        pipeline.deploy(_session(project, one, two, cancel=event), "production", second)
    assert "nothing is half-switched" in stopped.value.message
    assert "root@web1: rolled back to 1" in stopped.value.details
    assert one.serves() == "1" and two.serves() == "1"


def test_release_states_are_true_exactly_one_is_live(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    project = _project(tmp_path, ["root@web1"])
    for version in "123":
        ship(fake, version)
    with pytest.raises(HealthCheckFailed):
        ship(fake, "4", Behaviour(status=500))
    operations.rollback(_session(project, fake), "production")  # back to 2
    [(host, rows)] = operations.releases(_session(project, fake), "production")
    assert host == "root@web1"
    assert [(r.version, state) for r, state in rows] == [
        ("1", "replaced"), ("2", "replaced"), ("3", "rolled back"), ("4", "failed"), ("2", "live (rollback)"),
    ]
    assert [state for _, state in rows].count("live (rollback)") + [state for _, state in rows].count("live") == 1


@pytest.mark.parametrize(
    ("settings", "image_cmd", "cmd"),
    [
        ({}, ["serve"], None),  # the image's own CMD stays
        ({"args": ("-text=hi",)}, ["serve"], ["serve", "-text=hi"]),
        ({"command": ("-text", "hi there")}, ["serve"], ["-text", "hi there"]),
        ({"command": ("run",), "args": ("--verbose",)}, None, ["run", "--verbose"]),
        ({"args": ("-x",)}, None, ["-x"]),
    ],
)
def test_command_and_args_reach_the_container(settings, image_cmd, cmd):
    fake = fake_host()
    fake.engine.add_image(image("1"), HEALTHY)
    fake.engine.images[image("1")]["Config"] = {"Cmd": image_cmd}
    ship(fake, "1", **settings)
    [container] = fake.engine.app_containers(SERVICE)
    assert container.body.get("Cmd") == cmd


# --- goship remove --------------------------------------------------------------------------------


def _two_services(tmp_path):
    fake = fake_host()
    ship(fake, "1")  # hello: the catch-all
    other = release("9", service="shop", path_prefix="/shop", image=image("9"))
    fake.engine.add_image(image("9"), HEALTHY)
    deploy_to_host(fake.host, other, lambda engine: ensure_image(engine, other.image), Stage(CollectingReporter(), "deploy"), fake.clock)
    return fake


def test_remove_takes_one_service_off_and_the_other_keeps_serving(tmp_path):
    from goship.commands import operations

    fake = _two_services(tmp_path)
    project = _project(tmp_path, ["root@web1"])
    [removed] = operations.remove(_session(project, fake), "production")
    assert "its route" in removed.done and "1 container(s)" in removed.done
    assert any("release history" in line for line in removed.kept)
    assert any("still routes shop" in line for line in removed.kept)
    assert fake.apps() == [] and "goship-lock-hello" not in fake.engine.containers
    assert set(fake.table()) == {"shop"}
    shop = fake.prober.serving(80, path="/shop/x")
    assert shop is not None and shop.labels["goship.service"] == "shop"
    assert "goship-state-hello" in fake.engine.volumes  # history kept


def test_remove_purge_and_the_last_service_takes_the_proxy_with_it(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    ship(fake, "1")
    [removed] = operations.remove(_session(_project(tmp_path, ["root@web1"]), fake), "production", purge=True)
    assert "its release history" in removed.done
    assert "goship-proxy-80" not in fake.engine.containers
    assert not any(name.startswith(("goship-proxy-80", "goship-state-hello")) for name in fake.engine.volumes)
    assert [c for c in fake.engine.containers if c.startswith("goship-")] == []


def test_removing_what_is_not_there_says_so(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    [removed] = operations.remove(_session(_project(tmp_path, ["root@web1"]), fake), "production")
    assert removed.done == ()
