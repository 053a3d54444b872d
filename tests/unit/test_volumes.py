"""app.volumes: parsed and checked at its line, translated to engine mounts, created
with the service's labels, kept across deploys and plain removes, deleted by
``remove --purge`` only; the image lays out the mount points for the app user."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema
import pytest
import yaml

from goship.commands.init.dockerfile import DockerfileSpec, dockerfile_spec, render_dockerfile
from goship.commands.lint import lint_project
from goship.commands.lint.config_rules import sqlite_modules
from goship.config import Config, parse_config
from goship.config.model import AppConfig, DeployConfig, HealthConfig, SecurityConfig, TargetConfig, VolumeConfig
from goship.config.schema import schema
from goship.deploy.rollout import ensure_volumes
from goship.deploy.specs import AppContainer, app_container, data_volumes, volume_binds
from goship.engine.api import container_body, parse_container
from goship.errors import ConfigError, DeployError
from goship.events import CollectingReporter, Stage
from goship.project import GoMod, Project, load_project
from goship.testing.engine import Behaviour
from tests.unit.helpers import SERVICE, FakeHost, fake_host, image, release, service_module

DATA = VolumeConfig("data", "/var/lib/hello")
CONFIG = VolumeConfig("/srv/hello/config", "/etc/hello", read_only=True)


# --- goship.yaml ------------------------------------------------------------------------------------


def test_short_and_mapping_forms_load():
    text = (
        "app:\n"
        "  volumes:\n"
        "    - data:/var/lib/hello\n"
        "    - /srv/hello/config:/etc/hello:ro\n"
        "    - {source: cache, target: /var/cache/hello, read_only: false}\n"
        "    - source: seed\n"
        "      target: /seed\n"
        "      read_only: true\n"
    )
    volumes = parse_config(text).app.volumes
    assert volumes == [
        DATA, CONFIG, VolumeConfig("cache", "/var/cache/hello"), VolumeConfig("seed", "/seed", read_only=True),
    ]
    assert [v.named for v in volumes] == [True, False, True, True]
    # The schema says the same: a string or a mapping.
    jsonschema.validate(yaml.safe_load(text), schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"app": {"volumes": [{"source": "data", "target": "/d", "mode": "ro"}]}}, schema())


@pytest.mark.parametrize(
    ("entry", "line", "key", "message", "hint"),
    [
        ("./data:/data", 5, "app.volumes[1]", "'./data' is a relative host path", "absolute path on the host"),
        ("data/db:/data", 5, "app.volumes[1]", "relative host path", "absolute path"),
        ("~/data:/data", 5, "app.volumes[1]", "'~' is not expanded on the host", "absolute host path"),
        ("data:data", 5, "app.volumes[1]", "must be absolute", "/data"),
        ("data:/", 5, "app.volumes[1]", "whole file system", "directory of its own"),
        ("data:/tmp", 5, "app.volumes[1]", "/tmp would hide its scratch tmpfs", "directory of its own"),
        ("data:/tmp/cache", 5, "app.volumes[1]", "hide its scratch tmpfs", None),
        ("data:/usr/local", 5, "app.volumes[1]", "would hide /usr/local/bin", None),
        ("data:/etc", 5, "app.volumes[1]", "would hide /etc/passwd", None),
        ("data:/proc/x", 5, "app.volumes[1]", "under /proc", None),
        ("data:/a/../b", 5, "app.volumes[1]", "not a plain absolute path", None),
        ("x:/data", 5, "app.volumes[1]", "'x' is not a volume name", None),
        ("-data:/data", 5, "app.volumes[1]", "is not a volume name", None),
        ("data:/data:z", 5, "app.volumes[1]", "'z' is not a mode", None),
        ("data", 5, "app.volumes[1]", "is not SOURCE:TARGET[:ro]", None),
        ("{source: data}", 5, "app.volumes[1].target", "needs a target", None),
        ("{target: /data}", 5, "app.volumes[1].source", "needs a source", None),
        ("{source: data, target: /data, mode: ro}", 5, "app.volumes[1].mode", "unknown key", None),
    ],
)
def test_a_bad_volume_is_refused_at_its_own_line(entry, line, key, message, hint):
    text = f"service: hello\napp:\n  volumes:\n    - ok:/ok\n    - {entry}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    error = caught.value
    assert (error.line, error.key) == (line, key)
    assert message in error.message
    if hint:
        assert error.hint is not None and hint in error.hint


def test_two_volumes_on_one_target_are_refused():
    with pytest.raises(ConfigError, match=r"\[1\]: /data is mounted twice \(also \[0\]\)") as caught:
        parse_config("app:\n  volumes:\n    - a1:/data\n    - /srv/x:/data/\n")
    assert caught.value.key == "app.volumes"


# --- volumes -> engine mounts ------------------------------------------------------------------------


def test_volumes_become_binds_with_the_services_volume_names():
    assert volume_binds("hello", [DATA, CONFIG, VolumeConfig("cache", "/c", read_only=True)]) == (
        "hello-data:/var/lib/hello", "/srv/hello/config:/etc/hello:ro", "hello-cache:/c:ro",
    )
    assert data_volumes("hello", [DATA, CONFIG]) == {
        "hello-data": {"goship.managed": "true", "goship.role": "data", "goship.service": "hello", "goship.volume": "data"}
    }


def test_the_app_container_mounts_every_volume_beside_its_tmpfs():
    spec = app_container(AppContainer("hello-1", "img", "hello", "1", 8080, volumes=(DATA, CONFIG)))
    host = container_body(spec)["HostConfig"]
    assert host["Binds"] == ["hello-data:/var/lib/hello", "/srv/hello/config:/etc/hello:ro"]
    assert host["Tmpfs"] == {"/tmp": ""} and host["ReadonlyRootfs"] is True
    assert "Binds" not in container_body(app_container(AppContainer("hello-1", "img", "hello", "1", 8080)))["HostConfig"]


def test_inspect_mounts_are_parsed():
    state = parse_container({
        "Id": "x", "Name": "/hello-1", "State": {"Status": "running"},
        "Mounts": [
            {"Type": "volume", "Name": "hello-data", "Source": "/var/lib/docker/volumes/hello-data/_data",
             "Destination": "/var/lib/hello", "RW": True},
            {"Type": "bind", "Source": "/srv/hello/config", "Destination": "/etc/hello", "RW": False},
        ],
    })
    assert [(m.kind, m.source, m.target, m.read_only) for m in state.mounts] == [
        ("volume", "hello-data", "/var/lib/hello", False), ("bind", "/srv/hello/config", "/etc/hello", True),
    ]


# --- deploys on a fake host ---------------------------------------------------------------------------


def _ship(fake: FakeHost, version: str, volumes=(DATA, CONFIG), behaviour: Behaviour | None = None):
    from goship.deploy.rollout import deploy_to_host, ensure_image

    if image(version) not in fake.engine.images:
        fake.engine.add_image(image(version), behaviour or Behaviour())
    rel = release(version, volumes=tuple(volumes))
    return deploy_to_host(fake.host, rel, lambda engine: ensure_image(engine, rel.image), Stage(CollectingReporter(), "deploy"), fake.clock)


def test_named_volumes_are_created_with_labels_before_the_container_and_data_survives_a_deploy():
    fake = fake_host()
    _ship(fake, "1")
    posts = [r for r in fake.engine.requests if r.method == "POST"]
    made = next(i for i, r in enumerate(posts) if r.path == "/volumes/create")
    app = next(i for i, r in enumerate(posts) if r.path == "/containers/create" and "hello-data" in str(r.json()))
    assert made < app
    assert fake.engine.volume_labels["hello-data"]["goship.service"] == SERVICE
    assert "/srv/hello/config" not in fake.engine.volumes  # a host path is the host's, never created
    fake.engine.volumes["hello-data"]["orders.db"] = b"order 1"

    result = _ship(fake, "2")
    assert fake.engine.volumes["hello-data"] == {"orders.db": b"order 1"}
    new = fake.engine.containers[result.container]
    assert new.host_config["Binds"] == ["hello-data:/var/lib/hello", "/srv/hello/config:/etc/hello:ro"]
    assert fake.serves() == "2"


def test_creating_volumes_is_idempotent_and_keeps_what_exists():
    fake = fake_host()
    fake.engine.volumes["hello-data"] = {"x": b"1"}  # made by hand before goship: used as it is
    ensure_volumes(fake.host.engine, SERVICE, [DATA])
    ensure_volumes(fake.host.engine, SERVICE, [DATA])
    assert fake.engine.volumes["hello-data"] == {"x": b"1"}


def test_a_volume_of_another_service_is_refused():
    fake = fake_host()
    ensure_volumes(fake.host.engine, "hello-x", [VolumeConfig("y", "/y")])  # hello-x + y = hello-x-y
    with pytest.raises(DeployError, match="volume hello-x-y belongs to service hello-x"):
        ensure_volumes(fake.host.engine, SERVICE, [VolumeConfig("x-y", "/y")])


# --- remove -----------------------------------------------------------------------------------------


def _project(tmp_path: Path, volumes=(DATA, CONFIG)) -> Project:
    config = Config(
        service=SERVICE, image="reg:5000/hello", health=HealthConfig(timeout=5.0), deploy=DeployConfig(drain=0.5),
        app=AppConfig(volumes=list(volumes)), targets={"production": TargetConfig(hosts=["root@web1"])},
    )
    return Project(tmp_path, GoMod("example.com/hello"), config, tmp_path / "goship.yaml", SERVICE, ".")


def _session(project: Project, fake: FakeHost):
    from goship.session import Session

    return Session(project, clock=fake.clock, connect_ssh=lambda target, shell: fake.host.connection)


def test_remove_keeps_the_data_and_says_so(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    _ship(fake, "1")
    fake.engine.volumes["hello-data"]["orders.db"] = b"order 1"
    [removed] = operations.remove(_session(_project(tmp_path), fake), "production")
    assert fake.engine.volumes["hello-data"] == {"orders.db": b"order 1"}
    assert "its data volume(s) hello-data (--purge deletes them)" in removed.kept
    assert "the host path(s) /srv/hello/config (goship never deletes them)" in removed.kept
    assert fake.apps() == []


def test_purge_deletes_only_the_services_labelled_volumes(tmp_path):
    from goship.commands import operations

    fake = fake_host()
    _ship(fake, "1")
    fake.engine.volumes["hello-notes"] = {"n": b"mine"}  # unlabelled: not goship's to delete
    session = _session(_project(tmp_path), fake)
    assert operations.data_volumes(session, "production") == [("root@web1", ["hello-data"])]
    [removed] = operations.remove(session, "production", purge=True)
    assert "its data volume(s) hello-data" in removed.done
    assert "hello-data" not in fake.engine.volumes and "hello-notes" in fake.engine.volumes
    assert "the host path(s) /srv/hello/config (goship never deletes them)" in removed.kept


def test_remove_purge_asks_naming_each_volume_and_host(tmp_path, monkeypatch, capsys):
    from goship import cli

    fake = fake_host()
    _ship(fake, "1")
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
    assert cli._confirm_remove(_session(_project(tmp_path), fake), SERVICE, "production", purge=True) is False
    printed = capsys.readouterr().out
    assert "root@web1: hello-data" in printed and "cannot be undone" in printed
    assert "DELETE its data volumes" in asked[0]
    assert "hello-data" in fake.engine.volumes


def test_remove_purge_without_a_terminal_needs_yes(tmp_path, monkeypatch, capsys):
    from goship import cli

    root = service_module(tmp_path, "service: hello\napp:\n  volumes: [data:/data]\n")
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(SystemExit) as exited:
        cli.main(["remove", "production", "--purge"])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert "deletes its release history and data volumes: confirm with --yes" in err
    assert "goship remove production --yes --purge" in err


# --- the image: mount points owned by the app user -----------------------------------------------------


def test_native_image_has_the_mount_points_owned_by_the_app_user(tmp_path):
    from goship.builders.native import app_user, volume_mount_entries

    project = _project(tmp_path, volumes=(DATA, CONFIG, VolumeConfig("cache", "/cache", read_only=True)))
    entries = {e.path: (e.data, e.mode, e.uid, e.gid) for e in volume_mount_entries(project)}
    assert entries == {
        "var": (None, 0o755, 0, 0), "var/lib": (None, 0o755, 0, 0),
        "var/lib/hello": (None, 0o755, 65532, 65532), "cache": (None, 0o755, 65532, 65532),
    }  # /etc/hello is a host path: its owner is the host's
    assert volume_mount_entries(_project(tmp_path, volumes=())) == []
    assert app_user(None) == (65532, 65532)
    assert app_user("1000:2000") == (1000, 2000)
    assert app_user("1000") == (1000, 1000)
    assert app_user("nonroot") == (65532, 65532)


def test_native_layers_change_only_with_volumes(tmp_path):
    from goship.builders.native import _shared_layers

    plain = _shared_layers(_project(tmp_path, volumes=()))
    with_data = _shared_layers(_project(tmp_path, volumes=(DATA,)))
    assert [layer.diff_id for layer in with_data[: len(plain)]] == [layer.diff_id for layer in plain]
    assert with_data[-1].created_by == "goship: app.volumes mount points (owned by the app user)"
    assert _shared_layers(_project(tmp_path, volumes=(CONFIG,))) == plain


def test_generated_dockerfile_lays_out_the_mount_points_for_nonroot(tmp_path):
    root = service_module(tmp_path, "app:\n  volumes: [data:/var/lib/svc, /srv/x:/etc/x:ro]\n")
    spec = dockerfile_spec(load_project(root))
    assert spec.volume_dirs == ("/var/lib/svc",)
    text = render_dockerfile(spec)
    assert "mkdir -p /out/rootfs/var/lib/svc" in text and "chown 65532:65532 /out/rootfs/var/lib/svc" in text
    assert "volume" not in render_dockerfile(DockerfileSpec(binary="a", go_version="1.22"))


def test_a_custom_user_owns_the_mount_points(tmp_path):
    from goship.builders.native import volume_mount_entries

    project = _project(tmp_path, volumes=(DATA,))
    app = AppConfig(volumes=[DATA], security=SecurityConfig(user="1000:1000", reason="the host's data user"))
    custom = dataclasses.replace(project, config=dataclasses.replace(project.config, app=app))
    owners = {(e.uid, e.gid) for e in volume_mount_entries(custom) if e.path == "var/lib/hello"}
    assert owners == {(1000, 1000)}


# --- lint: SQLite on a volume -------------------------------------------------------------------------

GO_MOD = """module example.com/svc

go 1.22

require (
\tgithub.com/go-chi/chi/v5 v5.0.12
\tmodernc.org/sqlite v1.29.5
)

require github.com/mattn/go-sqlite3 v1.14.22 // indirect
"""


def test_sqlite_drivers_are_read_from_go_mod():
    assert sqlite_modules(GO_MOD) == ["modernc.org/sqlite", "github.com/mattn/go-sqlite3"]
    assert sqlite_modules("module x\n\nrequire github.com/jackc/pgx/v5 v5.5.0\n") == []
    assert sqlite_modules("module x\n// require modernc.org/sqlite v1\n") == []


@pytest.mark.parametrize(
    ("volumes", "go_mod", "expected"),
    [
        ("[data:/var/lib/svc]", GO_MOD, [5]),
        ("[data:/var/lib/svc:ro]", GO_MOD, []),  # read-only: no writer at all
        ("[data:/var/lib/svc]", "module example.com/svc\n\ngo 1.22\n", []),
        ("[]", GO_MOD, []),
    ],
)
def test_lint_warns_about_two_sqlite_writers_during_the_switch(tmp_path, volumes, go_mod, expected):
    root = service_module(tmp_path, f"service: svc\nhealth:\n  path: /healthz\napp:\n  volumes: {volumes}\n")
    (root / "go.mod").write_text(go_mod)
    found = [f for f in lint_project(root, hadolint=False).findings if f.rule == "GS210"]
    assert [f.line for f in found] == expected
    if found:
        assert "modernc.org/sqlite" in found[0].message and "/var/lib/svc" in found[0].message
        assert "WAL" in found[0].fix and "busy" in found[0].fix


def test_the_documented_example_loads():
    import re

    from tests.conftest import REPO

    text = (REPO / "docs" / "configuration.md").read_text()
    example = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "volumes:" in b)
    assert [v.short() for v in parse_config(example).app.volumes] == [
        "data:/var/lib/app", "/srv/app/uploads:/uploads", "/srv/app/config:/etc/app:ro", "cache:/var/cache/app",
    ]
