"""Roles (more processes of one service) and replicas: goship.yaml, the build, the rollout
on fake hosts (every process gated before any switch, all rolled back together), and the
operate commands' --role."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from goship.cli import build_parser
from goship.commands import operations, pipeline
from goship.config import Config, parse_config
from goship.config.model import (
    AppConfig,
    BuildConfig,
    DeployConfig,
    HealthConfig,
    ProxyConfig,
    RoleConfig,
    RoleHealthConfig,
    RoleProxyConfig,
    TargetConfig,
)
from goship.config.schema import schema
from goship.deploy import history
from goship.deploy.release import make_release
from goship.errors import ConfigError, GoshipError, HealthCheckFailed
from goship.project import GoMod, Project, load_project
from goship.session import Session
from goship.testing.engine import Behaviour, FakeClock
from goship.testing.process import FakeRunner, fake_go_and_git
from tests.unit.helpers import SERVICE, FakeHost, fake_host, pushed_build, ship

WORKER = RoleConfig(
    main="./cmd/worker", args=["-queue=default"], env={"QUEUE": "default"}, replicas=2,
    health=RoleHealthConfig(type="command", command=["/usr/local/bin/worker", "-check"]),
)
ADMIN = RoleConfig(port=9000, proxy=RoleProxyConfig(path_prefix="/admin"), health=RoleHealthConfig(path="/admin/healthz"))


# --- goship.yaml ------------------------------------------------------------------------------------


def test_roles_and_replicas_load_with_their_defaults():
    config = parse_config(
        "app:\n  replicas: 2\n  env: {LOG: info, QUEUE: x}\n"
        "roles:\n  worker:\n    main: ./cmd/worker\n    env: {QUEUE: default}\n"
        "  admin:\n    port: 9000\n    proxy: {path_prefix: /admin}\n"
    )
    assert config.app.replicas == 2 and list(config.roles) == ["worker", "admin"]  # declared order kept
    assert config.roles["worker"].health_type == "none"  # no port, no route: a pure worker
    assert config.roles["admin"].health_type == "http"  # served through the proxy


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("roles:\n  worker: {}\n  Big Worker: {}\n", 3, "roles.Big Worker: 'Big Worker' is not a role name"),
        ("roles:\n  web: {}\n", 2, "'web' is the name of the main process"),
        ("roles:\n  worker:\n    replica: 2\n", 3, "did you mean 'replicas'"),
        ("roles:\n  worker:\n    replicas: 0\n", 3, "must be at least 1"),
        ("roles:\n  admin:\n    proxy: {path_prefix: /admin}\n", 3, "a role served through the proxy needs its port"),
        ("roles:\n  admin:\n    port: 9000\n    proxy: {strip_prefix: true}\n", 4, "needs a path_prefix or domains"),
        ("roles:\n  w:\n    health: {type: tcp}\n", 3, "health type tcp needs a port"),
        ("roles:\n  w:\n    health: {type: command}\n", 3, "type command needs the command"),
        ("roles:\n  w:\n    health: {type: grpc}\n", 3, "expected 'http' or 'answers' or 'tcp' or 'command' or 'none'"),
        ("roles:\n  w:\n    main: ./cmd/w\n    command: [/bin/w]\n", 4, "main and command are both set"),
        ("app:\n  replicas: 0\n", 2, "must be at least 1"),
        ("proxy: {path_prefix: /api}\nroles:\n  a:\n    port: 1\n    proxy: {path_prefix: /api}\n", 2,
         "is the main process's proxy.path_prefix"),
    ],
)
def test_bad_roles_are_refused_at_their_line(text, line, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as refused:
        parse_config(text)
    assert refused.value.line == line


def test_a_role_that_names_a_main_package_with_a_docker_builder_is_told_to_use_command():
    with pytest.raises(ConfigError, match="the docker builder builds your Dockerfile") as refused:
        parse_config("build: {builder: docker}\nroles:\n  worker:\n    main: ./cmd/worker\n")
    assert "roles.worker.command: [/usr/local/bin/worker]" in (refused.value.hint or "")
    parse_config("build: {builder: docker}\nroles:\n  worker:\n    command: [/usr/local/bin/worker]\n")


def test_the_schema_tells_editors_about_roles_and_replicas():
    properties = schema()["properties"]
    assert properties["app"]["properties"]["replicas"]["anyOf"][0]["minimum"] == 1
    roles = properties["roles"]
    assert roles["propertyNames"]["not"] == {"const": "web"}
    role = roles["additionalProperties"]["properties"]
    assert {"main", "command", "args", "env", "replicas", "port", "health", "proxy"} <= set(role)
    assert "none" in role["health"]["properties"]["type"]["anyOf"][0]["enum"]


# --- the project and the release ---------------------------------------------------------------------


def _module(tmp_path: Path, config: str) -> Path:
    root = tmp_path / "svc"
    for main in ("cmd/api", "cmd/worker", "tools/worker"):
        (root / main).mkdir(parents=True)
        (root / main / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (root / "goship.yaml").write_text(config)
    return root


def test_each_main_package_is_one_program_named_after_its_directory(tmp_path):
    root = _module(tmp_path, "build: {main: ./cmd/api}\nroles:\n  worker: {main: ./cmd/worker/}\n  again: {main: cmd/worker}\n")
    assert load_project(root).programs() == {"cmd/api": "svc", "cmd/worker": "worker"}


def test_two_programs_with_one_name_and_a_main_that_is_none_are_refused(tmp_path):
    root = _module(tmp_path, "build: {main: ./cmd/api}\nroles:\n  a: {main: ./cmd/worker}\n  b: {main: ./tools/worker}\n")
    with pytest.raises(ConfigError, match="would both be /usr/local/bin/worker") as clash:
        load_project(root)
    assert clash.value.key == "roles.b.main"
    (root / "goship.yaml").write_text("build: {main: ./cmd/api}\nroles:\n  a: {main: ./cmd/nothing}\n")
    with pytest.raises(ConfigError, match="'./cmd/nothing' is not a directory with package main"):
        load_project(root)


def _config(**settings: object) -> Config:
    base = Config(
        service=SERVICE, image="reg:5000/hello", health=HealthConfig(timeout=5.0, path="/healthz"),
        deploy=DeployConfig(drain=0.5), targets={"production": TargetConfig(hosts=["root@web1", "root@web2"])},
        app=AppConfig(env={"LOG": "info", "QUEUE": "x"}, secrets=["TOKEN"]),
        roles={"worker": WORKER},
    )
    return replace(base, **settings)  # type: ignore[arg-type]


def _project(tmp_path: Path, config: Config | None = None) -> Project:
    return Project(tmp_path, GoMod("example.com/hello"), config or _config(), tmp_path / "goship.yaml", SERVICE, ".")


def test_a_role_inherits_what_it_does_not_set_and_runs_its_own_program(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN", "t0k")
    monkeypatch.setenv("OTHER", "o")
    worker = replace(WORKER, secrets=["OTHER"])
    release = make_release(_project(tmp_path, _config(roles={"worker": worker, "same": RoleConfig(args=["-x"])})),
                           "1", "img", "", "")
    [role, same] = release.roles
    assert role.entrypoint == ("/usr/local/bin/worker",) and role.command == ("-queue=default",)
    assert role.env == {"LOG": "info", "QUEUE": "default"}  # merged over app.env
    assert role.secrets == {"OTHER": "o"}  # its own list replaces app.secrets
    assert role.health.type == "command" and role.health.timeout == 5.0  # unset: from the top-level health
    assert role.hardening == release.hardening and role.replicas == 2
    # no main, no command: the service's own program (the image's entrypoint) with the role's arguments
    assert (same.entrypoint, same.command, same.secrets) == (None, ("-x",), {"TOKEN": "t0k"})
    assert release.only(("web",)).roles == () and release.role_names == ("web", "worker", "same")


def test_the_native_build_puts_every_program_in_the_one_image(tmp_path):
    runner = FakeRunner()
    fake_go_and_git(runner, b"\x7fELF program")
    config = _config(build=BuildConfig(sbom=False, main="cmd/api"))
    project = Project(tmp_path, GoMod("example.com/hello"), config, tmp_path / "goship.yaml", SERVICE, "cmd/api")
    with Session(project, runner=runner) as session:
        built = pipeline.build(session)
    assert [call.argv[-1] for call in runner.ran("go")] == ["./cmd/api", "./cmd/worker"]
    files = {path for layer in built.image.layers for path in _paths(layer.blob.data)}
    assert {"usr/local/bin/hello", "usr/local/bin/worker"} <= files
    assert built.image.config.data.count(b"/usr/local/bin/hello") == 1  # the entrypoint stays the service's


def _paths(data: bytes) -> list[str]:
    import gzip
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        return tar.getnames()


# --- the rollout on fake hosts ----------------------------------------------------------------------




def _session(project: Project, *fakes: FakeHost, cancel=None):
    connections = {fake.host.name: fake.host.connection for fake in fakes}
    return Session(project, clock=fakes[0].clock, cancel=cancel, connect_ssh=lambda target, shell: connections[target.label])


def _deploy(tmp_path: Path, project: Project, version: str, *fakes: FakeHost, worker: Behaviour | None = None,
            web: Behaviour | None = None):
    """Deploy ``version`` to the fakes; the worker's containers (and the main process's) behave as given."""
    built = pushed_build(tmp_path, version)
    reference = f"reg:5000/hello@{built.digest}"
    for fake in fakes:
        fake.engine.add_image(reference, web or Behaviour(exec_exit=0), pullable=True)
        if worker is not None:
            fake.engine.set_behaviour(reference, worker, process="worker")
    with _session(project, *fakes) as session:
        return pipeline.deploy(session, "production", built)


def _apps(fake: FakeHost) -> dict[str, list[str]]:
    """The app containers of the service per process: {process: [version, ...]}."""
    found: dict[str, list[str]] = {}
    for container in fake.engine.app_containers(SERVICE):
        found.setdefault(container.labels.get("goship.process", "web (old)"), []).append(container.labels["goship.version"])
    return {key: sorted(value) for key, value in sorted(found.items())}


def _two_hosts() -> tuple[FakeHost, FakeHost]:
    clock = FakeClock()
    return fake_host("root@web1", clock), fake_host("root@web2", clock)


def test_ship_two_processes_with_replicas_to_two_hosts(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN", "t0k")
    one, two = _two_hosts()
    project = _project(tmp_path, _config(app=replace(_config().app, replicas=2)))
    result = _deploy(tmp_path, project, "1", one, two)
    assert [h.host for h in result.hosts] == ["root@web1", "root@web2"]
    for fake in (one, two):
        assert _apps(fake) == {"web": ["1", "1"], "worker": ["1", "1"]}
        # the main process's two replicas share its route; the worker has none
        table = fake.table()
        assert set(table) == {SERVICE}
        names = {u["name"] for u in table[SERVICE]["upstreams"] if u["weight"] == 1}
        assert names == {c.name for c in fake.engine.app_containers(SERVICE) if c.labels["goship.process"] == "web"}
        assert {fake.serves() for _ in range(4)} == {"1"}
        workers = [c for c in fake.engine.app_containers(SERVICE) if c.labels["goship.process"] == "worker"]
        for worker in workers:
            assert worker.name.startswith("hello-worker-1-")
            assert worker.body["Entrypoint"] == ["/usr/local/bin/worker"] and worker.body["Cmd"] == ["-queue=default"]
            env = dict(item.split("=", 1) for item in worker.body["Env"])
            assert env == {"LOG": "info", "QUEUE": "default", "TOKEN": "t0k"}  # no PORT: it listens on none
            assert "PortBindings" not in worker.host_config
        # each worker was asked its check command, through the engine
        asked = [e["cmd"] for e in fake.engine.execs.values() if e["container"] in {w.name for w in workers}]
        assert asked and all(cmd == ["/usr/local/bin/worker", "-check"] for cmd in asked)
        [record] = history.read(fake.host.engine, SERVICE)
        assert record.processes == ("web", "worker") and len(record.roles["worker"]) == 2

    # a new version of both replaces every container of both processes
    _deploy(tmp_path, project, "2", one, two)
    for fake in (one, two):
        assert _apps(fake) == {"web": ["2", "2"], "worker": ["2", "2"]}
        assert fake.serves() == "2"


def test_a_worker_failing_its_health_check_rolls_both_processes_back_on_every_host(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN", "t0k")
    one, two = _two_hosts()
    project = _project(tmp_path)
    _deploy(tmp_path, project, "1", one, two)
    before = {fake.host.name: sorted(c.name for c in fake.engine.app_containers(SERVICE)) for fake in (one, two)}
    # version 2's worker is fine on web1 and fails its check on web2
    built = pushed_build(tmp_path, "2")
    reference = f"reg:5000/hello@{built.digest}"
    for fake, code in ((one, 0), (two, 1)):
        fake.engine.add_image(reference, Behaviour(exec_exit=0), pullable=True)
        fake.engine.set_behaviour(reference, Behaviour(exec_exit=code, exec_output=("queue unreachable",)), process="worker")
    with pytest.raises(HealthCheckFailed, match="hello worker 2 is not healthy") as failure, \
            _session(project, one, two) as session:
        pipeline.deploy(session, "production", built)
    assert "exit code 1 (queue unreachable)" in str(failure.value.details)
    assert "goship exec --role worker -- /usr/local/bin/worker -check" in (failure.value.hint or "")
    assert "root@web1: rolled back to 1" in failure.value.details
    # web2 never switched: its version 1 containers (both processes) are the very same ones
    assert sorted(c.name for c in two.engine.app_containers(SERVICE)) == before["root@web2"]
    assert [r.result for r in history.read(two.host.engine, SERVICE)] == ["live", "failed"]
    # web1 switched, then came back to version 1: both processes again
    for fake in (one, two):
        assert _apps(fake) == {"web": ["1"], "worker": ["1", "1"]} and fake.serves() == "1"
    assert [r.result for r in history.read(one.host.engine, SERVICE)] == ["live", "live", "rollback"]


def test_a_worker_that_crashes_fails_before_any_route_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN", "t0k")
    fake = fake_host()
    project = _project(tmp_path, _config(roles={"worker": replace(WORKER, health=RoleHealthConfig(), replicas=1)},
                                         targets={"production": TargetConfig(hosts=["root@web1"])}))
    _deploy(tmp_path, project, "1", fake)
    table = fake.table()
    with pytest.raises(HealthCheckFailed, match="hello worker 2 is not healthy: the container exited with code 2") as failure:
        _deploy(tmp_path, project, "2", fake, worker=Behaviour(exit_code=2, logs=("no QUEUE_URL",)))
    assert "roles.worker.env" in (failure.value.hint or "") and "  no QUEUE_URL" in failure.value.details
    assert fake.table() == table  # the proxy was never touched
    assert _apps(fake) == {"web": ["1"], "worker": ["1"]} and fake.serves() == "1"


@pytest.mark.parametrize(
    ("health", "port", "behaviour", "passes"),
    [
        (RoleHealthConfig(type="none"), None, Behaviour(), True),
        (RoleHealthConfig(type="none"), None, Behaviour(exit_code=1), False),
        (RoleHealthConfig(type="tcp"), 9090, Behaviour(), True),
        (RoleHealthConfig(type="tcp"), 9090, Behaviour(ready_after=99), False),
        (RoleHealthConfig(type="tcp", port=9090), None, Behaviour(), True),
        (RoleHealthConfig(type="command", command=["/w", "-check"]), None, Behaviour(exec_exit=0), True),
        (RoleHealthConfig(type="command", command=["/w", "-check"]), None, Behaviour(exec_exit=3), False),
        (RoleHealthConfig(type="command", command=["/w", "-check"]), None, Behaviour(), False),  # no such program
        (RoleHealthConfig(type="http"), 9090, Behaviour(status=503), False),
    ],
)
def test_each_kind_of_role_health_check(tmp_path, health, port, behaviour, passes):
    fake = fake_host()
    role = RoleConfig(port=port, health=replace(health, timeout=2.0))
    project = _project(tmp_path, _config(app=AppConfig(), roles={"worker": role},
                                         targets={"production": TargetConfig(hosts=["root@web1"])}))
    if passes:
        _deploy(tmp_path, project, "1", fake, worker=behaviour)
        assert _apps(fake) == {"web": ["1"], "worker": ["1"]}
    else:
        with pytest.raises(HealthCheckFailed, match="hello worker 1 is not healthy"):
            _deploy(tmp_path, project, "1", fake, worker=behaviour)
        assert _apps(fake) == {}  # nothing left behind, neither process


def test_a_none_check_waits_the_settle_time(tmp_path):
    fake = fake_host()
    role = RoleConfig(health=RoleHealthConfig(type="none", settle=4.0))
    project = _project(tmp_path, _config(app=AppConfig(), roles={"worker": role},
                                         targets={"production": TargetConfig(hosts=["root@web1"])}))
    start = fake.clock.now
    _deploy(tmp_path, project, "1", fake)
    assert fake.clock.now - start >= 4.0


def test_an_http_role_gets_its_own_route_under_its_prefix(tmp_path):
    fake = fake_host()
    project = _project(tmp_path, _config(app=AppConfig(), roles={"admin": ADMIN},
                                         targets={"production": TargetConfig(hosts=["root@web1"])}))
    _deploy(tmp_path, project, "1", fake)
    table = fake.table()
    assert set(table) == {SERVICE, f"{SERVICE}:admin"} and table[f"{SERVICE}:admin"]["path_prefix"] == "/admin"
    admin = fake.prober.serving(80, path="/admin/users")
    main = fake.prober.serving(80, path="/users")
    assert admin is not None and admin.labels["goship.process"] == "admin" and admin.body["Env"][-1] == "PORT=9000"
    assert main is not None and main.labels["goship.process"] == "web"
    [_, admin_row] = operations.status(_session(project, fake), "production")
    assert admin_row.role == "admin" and admin_row.url.endswith(":80/admin") and admin_row.health.startswith("HTTP 200")
    # removing the service takes both routes, and then the proxy (it routed nothing else)
    removed = operations.remove(_session(project, fake), "production")
    assert "goship-proxy-80" not in fake.engine.containers and not any("proxy" in kept for kept in removed[0].kept)


def test_containers_made_before_roles_are_the_main_process_and_are_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN", "t0k")
    fake = fake_host()
    ship(fake, "1")  # a release as goship made them before roles: no goship.process label
    [old] = fake.engine.app_containers(SERVICE)
    del old.body["Labels"]["goship.process"]
    [record] = history.read(fake.host.engine, SERVICE)
    assert record.roles == {} and record.processes == ("web",)
    project = _project(tmp_path, _config(targets={"production": TargetConfig(hosts=["root@web1"])}))
    _deploy(tmp_path, project, "2", fake)
    assert _apps(fake) == {"web": ["2"], "worker": ["2", "2"]}
    # and back to it: the release ran the main process only, so the worker goes with the rollback
    [back] = operations.rollback(_session(project, fake), "production")
    assert _apps(fake) == {"web": ["1"]} and fake.serves() == "1"


# --- --role -----------------------------------------------------------------------------------------


def test_status_releases_logs_and_exec_take_a_role(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN", "t0k")
    fake = fake_host()
    project = _project(tmp_path, _config(targets={"production": TargetConfig(hosts=["root@web1"])}))
    _deploy(tmp_path, project, "1", fake)
    rows = operations.status(_session(project, fake), "production")
    assert [(r.role, r.containers, r.version) for r in rows] == [("web", 1, "1"), ("worker", 2, "1")]
    assert rows[1].health == "2 running"
    [only] = operations.status(_session(project, fake), "production", role="worker")
    assert only.role == "worker"

    lines = list(operations.logs(_session(project, fake), "production", role="worker"))
    workers = sorted(c.name for c in fake.engine.app_containers(SERVICE) if c.labels["goship.process"] == "worker")
    assert {where for where, _ in lines} == {f"root@web1 {name}" for name in workers}
    assert {where for where, _ in operations.logs(_session(project, fake), "production")} == {"root@web1"}

    code = operations.exec_in(_session(project, fake), "production", ["/usr/local/bin/worker", "-v"], role="worker")
    assert code == 0 and list(fake.engine.execs.values())[-1]["container"] == workers[0]

    [(host, records)] = operations.releases(_session(project, fake), "production", role="worker")
    assert [r.version for r, _ in records] == ["1"]

    with pytest.raises(ConfigError, match="hello has no role 'wroker'") as mistyped:
        list(operations.logs(_session(project, fake), "production", role="wroker"))
    assert "did you mean 'worker'?" in (mistyped.value.hint or "")
    with pytest.raises(GoshipError, match="no role 'workr'") as mistyped:
        operations.status(_session(project, fake), "production", role="workr")
    assert "did you mean 'worker'?" in (mistyped.value.hint or "")


def test_the_command_line_takes_role_on_the_operate_commands():
    parser = build_parser()
    for argv in (["status", "production", "--role", "worker"], ["releases", "--role", "worker"],
                 ["logs", "production", "--role", "worker"], ["exec", "--role", "worker", "production", "--", "true"]):
        assert parser.parse_args(argv).role == "worker"
    assert parser.parse_args(["logs"]).role is None



# --- what the review found ------------------------------------------------------------------------


def test_a_role_the_next_version_drops_keeps_no_route_to_gone_containers(tmp_path):
    fake = fake_host()
    targets = {"production": TargetConfig(hosts=["root@web1"])}
    _deploy(tmp_path, _project(tmp_path, _config(app=AppConfig(), roles={"admin": ADMIN}, targets=targets)), "1", fake)
    assert set(fake.table()) == {SERVICE, f"{SERVICE}:admin"}
    _deploy(tmp_path, _project(tmp_path, _config(app=AppConfig(), roles={}, targets=targets)), "2", fake)
    assert set(fake.table()) == {SERVICE}
    answer = fake.prober.serving(80, path="/admin/users")  # the main process's now, not a 502
    assert answer is not None and answer.labels["goship.process"] == "web"


def test_status_of_a_role_on_the_services_domain_uses_its_address(tmp_path):
    fake = fake_host()
    config = _config(app=AppConfig(), roles={"admin": ADMIN}, proxy=ProxyConfig(domains=["example.com"]),
                     targets={"production": TargetConfig(hosts=["root@web1"])})
    project = _project(tmp_path, config)
    _deploy(tmp_path, project, "1", fake)
    [_, admin] = operations.status(_session(project, fake), "production")
    assert admin.url == "https://example.com/admin" and admin.health.startswith("HTTP 200"), admin


def test_a_second_local_services_role_is_reached_under_its_own_name():
    from goship.deploy import routes

    other = routes.route_to("other", (routes.Upstream("other-1", 8080),), routes.Wanted(local=True), [])
    hello = routes.route_to("hello", (routes.Upstream("hello-1", 8080),), routes.Wanted(local=True), [other])
    admin = routes.route_to("hello:admin", (routes.Upstream("hello-admin-1", 9000),),
                            routes.Wanted(path_prefix="/admin"), [other, hello])
    assert other.catch_all and not hello.catch_all
    caddyfile = routes.render([other, hello, admin])
    site = caddyfile[caddyfile.index("http://hello.localhost {"):]
    site = site[: site.index("\n}\n")]
    bare = caddyfile[caddyfile.index(f":{routes.HTTP_PORT} {{"):]
    assert "/admin" in site and "hello-admin-1:9000" in site
    assert "/admin" not in bare and "hello-admin-1" not in bare  # other's address is other's alone


def test_a_data_volume_never_takes_a_name_of_goships_own():
    from goship.config.model import VolumeConfig
    from goship.deploy.rollout import ensure_volumes
    from goship.errors import DeployError

    fake = fake_host()
    with pytest.raises(DeployError, match="goship's own"):
        ensure_volumes(fake.engine, "goship", [VolumeConfig.from_text("state-hello:/st")])


def test_a_rollback_says_which_process_it_cannot_restore(tmp_path, monkeypatch):
    from goship.events import CollectingReporter

    monkeypatch.setenv("TOKEN", "t0k")
    fake = fake_host()
    targets = {"production": TargetConfig(hosts=["root@web1"])}
    _deploy(tmp_path, _project(tmp_path, _config(targets=targets)), "1", fake)  # with the worker
    without = _project(tmp_path, _config(roles={}, targets=targets))
    _deploy(tmp_path, without, "2", fake)
    reporter = CollectingReporter()
    connections = {fake.host.name: fake.host.connection}
    with Session(without, reporter=reporter, clock=fake.clock, connect_ssh=lambda t, s: connections[t.label]) as session:
        operations.rollback(session, "production")
    warnings = [e.message for e in reporter.events if e.level == "warn"]
    assert any("also ran worker" in w and "not restored" in w for w in warnings), warnings
    assert _apps(fake) == {"web": ["1"]}
