"""build -> push -> deploy, and push alone, through the fakes of goship.testing only:
go and git are a FakeRunner, the registry a FakeRegistry (with its token service),
the two hosts FakeHosts. No process, socket or registry of this machine is used."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from goship.commands import pipeline
from goship.config import Config
from goship.config.model import BuildConfig, DeployConfig, HealthConfig, TargetConfig
from goship.errors import ConfigError, HostUnreachable, RegistryError
from goship.events import CollectingReporter
from goship.project import GoMod, Project
from goship.testing.hosts import FakeHosts
from goship.testing.process import FakeRunner, fake_go_and_git
from goship.testing.registry import FakeRegistry
from tests.unit.helpers import nothing_real

REPOSITORY = "team/hello"
REVISION = "3f2a9c1d0b7e" + "5" * 28


@pytest.fixture(autouse=True)
def _nothing_real(monkeypatch, tmp_path):
    nothing_real(monkeypatch, tmp_path)


def _project(tmp_path: Path, hosts: list[str], image: str | None = f"reg.example/{REPOSITORY}") -> Project:
    root = tmp_path / "hello"
    root.mkdir(exist_ok=True)
    config = Config(
        service="hello", image=image, build=BuildConfig(sbom=False),
        health=HealthConfig(timeout=5.0), deploy=DeployConfig(drain=0.5),
        targets={"production": TargetConfig(hosts=hosts)},
    )
    return Project(root, GoMod("example.com/hello"), config, root / "goship.yaml", "hello", ".")


def _world(tmp_path: Path, hosts: list[str], binary: bytes = b"\x7fELF hello 1"):
    runner = FakeRunner()
    fake_go_and_git(runner, binary, revision=REVISION)
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"))
    fakes = FakeHosts()
    for name in hosts:
        engine = fakes.add(name)
        # A host pulls what the fake registry holds, and nothing else.
        engine.pull_source = lambda ref: (
            "sha256:" + ref.rsplit(":", 1)[-1]
            if registry.manifest(REPOSITORY, ref.rsplit("@", 1)[-1]) is not None else None
        )
    return runner, registry, fakes


def test_ship_builds_pushes_and_deploys_to_two_hosts_through_fakes(tmp_path):
    hosts = ["root@web1", "root@web2"]
    runner, registry, fakes = _world(tmp_path, hosts)
    project = _project(tmp_path, hosts)
    reporter = CollectingReporter()
    with fakes.session(project, runner=runner, reporter=reporter,
                       registry_transport=httpx.MockTransport(registry)) as session:
        result = pipeline.ship(session, "production")

    version = REVISION[:12]
    assert result.version == version and [h.host for h in result.hosts] == hosts
    # built: one go build for linux/amd64 of the main package, with the commit from git
    [build] = runner.ran("go")
    assert build.argv[1] == "build" and build.env is not None and build.env["GOOS"] == "linux"
    # pushed: the tag names the built manifest
    manifest = json.loads(registry.manifest(REPOSITORY, version) or b"{}")
    assert manifest["layers"] and manifest["config"]["digest"]
    pushed = json.loads((project.root / ".goship" / "push.json").read_text())
    assert pushed["reference"] == f"reg.example/{REPOSITORY}@{pushed['digest']}"
    # deployed: each host pulled that digest with a pull-only token, never the password, and serves it
    for name in hosts:
        serving = fakes.probers[name].serving(80)
        assert serving is not None and serving.labels["goship.version"] == version
        [pull] = [r for r in fakes.engines[name].requests if r.path == "/images/create"]
        auth = json.loads(base64.urlsafe_b64decode(dict(pull.headers)["X-Registry-Auth"]))
        assert auth == {"registrytoken": "T", "serveraddress": "reg.example"}
        assert "s3cret" not in repr(fakes.engines[name].requests)
    assert [f"repository:{REPOSITORY}:pull"] in registry.token_scopes
    # the stages in order, each host checked before anything was pushed
    stages = [e.stage for e in reporter.events]
    assert stages.index("push") > max(i for i, s in enumerate(stages) if s == "preflight")
    assert {e.host for e in reporter.events if e.stage == "preflight"} == set(hosts)
    # the session closed what it opened
    assert all(engine.closed for engine in fakes.engines.values())


def test_a_host_that_does_not_answer_stops_ship_before_anything_is_pushed_or_changed(tmp_path):
    runner, registry, fakes = _world(tmp_path, ["root@web1"])
    project = _project(tmp_path, ["root@web1", "root@web2"])  # web2 is not there
    with pytest.raises(HostUnreachable, match="root@web2"), fakes.session(
        project, runner=runner, registry_transport=httpx.MockTransport(registry)
    ) as session:
        pipeline.ship(session, "production")
    assert registry.requests == [] and registry.repositories == {}
    assert fakes.engines["root@web1"].calls() == []  # not a single change on the host that answered


def test_push_alone_uploads_the_last_build_and_a_second_push_uploads_nothing(tmp_path):
    runner, registry, fakes = _world(tmp_path, [])
    project = _project(tmp_path, [])
    with fakes.session(project, runner=runner, registry_transport=httpx.MockTransport(registry)) as session:
        built = pipeline.build(session)
        first = pipeline.push(session)
        again = pipeline.push(session, built)
    assert first.digest == built.digest and first.uploaded_blobs >= 3
    assert again.uploaded_blobs == 0 and again.skipped_blobs == first.uploaded_blobs
    assert registry.manifest(REPOSITORY, built.version) is not None
    assert [call.argv[1] for call in runner.ran("git")][:3] == ["rev-parse", "status", "log"]


def test_push_without_an_image_repository_says_what_to_add(tmp_path):
    runner, registry, fakes = _world(tmp_path, [])
    project = _project(tmp_path, [], image=None)
    with fakes.session(project, runner=runner) as session:
        built = pipeline.build(session)
        with pytest.raises(ConfigError, match="'image' is not set") as refused:
            pipeline.push(session, built)
    assert "image: registry.example.com/team/hello" in (refused.value.hint or "")


def test_a_registry_that_refuses_the_manifest_fails_the_push_with_its_reason(tmp_path):
    runner, _, fakes = _world(tmp_path, [])
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"), faults={"put_manifest": [400] * 10})
    project = _project(tmp_path, [])
    with fakes.session(project, runner=runner, registry_transport=httpx.MockTransport(registry)) as session:
        built = pipeline.build(session)
        with pytest.raises(RegistryError):
            pipeline.push(session, built)
    assert not (project.root / ".goship" / "push.json").exists()


def test_a_wrong_password_is_a_registry_error_and_nothing_is_deployed(tmp_path, monkeypatch):
    monkeypatch.setenv("GOSHIP_REGISTRY_PASSWORD", "wrong")
    runner, registry, fakes = _world(tmp_path, ["root@web1"])
    project = _project(tmp_path, ["root@web1"])
    with pytest.raises(RegistryError), fakes.session(
        project, runner=runner, registry_transport=httpx.MockTransport(registry)
    ) as session:
        pipeline.ship(session, "production")
    assert [c for c in fakes.engines["root@web1"].calls() if "containers" in c] == []
