"""Deploying what was built elsewhere: ``goship deploy TARGET --version V`` (or ``--image REF@sha256:...``)
finds the image in the registry and every host pulls that digest, with no build here. Through the fakes
of goship.testing only; and ``goship deploy`` with nothing built says so in words."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from goship import cli
from goship.commands import pipeline
from goship.config import Config
from goship.config.model import BuildConfig, DeployConfig, HealthConfig, TargetConfig
from goship.deploy import history
from goship.errors import BuildError, GoshipError, RegistryError, RegistryNotFound
from goship.events import CollectingReporter
from goship.images.oci import MEDIA_CONFIG, MEDIA_INDEX, MEDIA_MANIFEST
from goship.images.reference import Repository
from goship.project import GoMod, Project
from goship.registry import pushed
from goship.registry.client import RegistryClient
from goship.registry.credentials import Credentials
from goship.testing.hosts import FakeHosts
from goship.testing.process import FakeRunner, fake_go_and_git
from goship.testing.registry import FakeRegistry
from tests.unit.helpers import nothing_real

REPOSITORY = "team/hello"
REVISION = "3f2a9c1d0b7e" + "5" * 28
VERSION = REVISION[:12]
HOSTS = ["root@web1", "root@web2"]


@pytest.fixture(autouse=True)
def _nothing_real(monkeypatch, tmp_path):
    nothing_real(monkeypatch, tmp_path)


def _checkout(tmp_path: Path, name: str) -> Project:
    """One checkout of the service (CI's, or a laptop's): the same goship.yaml, its own directory."""
    root = tmp_path / name
    root.mkdir(exist_ok=True)
    config = Config(
        service="hello", image=f"reg.example/{REPOSITORY}", build=BuildConfig(sbom=False),
        health=HealthConfig(timeout=5.0), deploy=DeployConfig(drain=0.5),
        targets={"production": TargetConfig(hosts=HOSTS)},
    )
    return Project(root, GoMod("example.com/hello"), config, root / "goship.yaml", "hello", ".")


def _hosts(registry: FakeRegistry, names: list[str]) -> FakeHosts:
    fakes = FakeHosts()
    for name in names:
        engine = fakes.add(name)
        # A host pulls what the fake registry holds, by digest, and nothing else.
        engine.pull_source = lambda ref: (
            "sha256:" + ref.rsplit(":", 1)[-1]
            if "@" in ref and registry.manifest(REPOSITORY, ref.rsplit("@", 1)[-1]) is not None else None
        )
    return fakes


def _pushed_from_ci(tmp_path: Path, registry: FakeRegistry, binary: bytes = b"\x7fELF hello 1") -> str:
    """Build and push from the CI checkout; the digest pushed."""
    runner = FakeRunner()
    fake_go_and_git(runner, binary, revision=REVISION)
    with FakeHosts().session(_checkout(tmp_path, "ci"), runner=runner,
                             registry_transport=httpx.MockTransport(registry)) as session:
        return pipeline.push(session, pipeline.build(session)).digest


def _serving(fakes: FakeHosts, name: str) -> str | None:
    container = fakes.probers[name].serving(80)
    return container.labels["goship.version"] if container is not None else None


def test_a_version_pushed_from_ci_is_deployed_by_digest_from_another_checkout_with_no_build(tmp_path):
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"))
    digest = _pushed_from_ci(tmp_path, registry)
    fakes = _hosts(registry, HOSTS)
    laptop = _checkout(tmp_path, "laptop")
    runner = FakeRunner()  # answers nothing: any go or git run here fails the test
    reporter = CollectingReporter()
    with fakes.session(laptop, runner=runner, reporter=reporter,
                       registry_transport=httpx.MockTransport(registry)) as session:
        result = pipeline.deploy(session, "production", version=VERSION)

    assert result.version == VERSION and [h.host for h in result.hosts] == HOSTS
    assert runner.calls == [] and not (laptop.root / ".goship").exists()  # nothing built or written here
    reference = f"reg.example/{REPOSITORY}@{digest}"
    for name in HOSTS:
        assert _serving(fakes, name) == VERSION
        [pull] = [r for r in fakes.engines[name].requests if r.path == "/images/create"]
        assert dict(pull.query) == {"fromImage": f"reg.example/{REPOSITORY}", "tag": digest}  # by digest
        auth = json.loads(base64.urlsafe_b64decode(dict(pull.headers)["X-Registry-Auth"]))
        assert auth == {"registrytoken": "T", "serveraddress": "reg.example"}  # a pull-only token
        [record] = history.read(fakes.connection(name).engine, "hello")
        assert (record.version, record.digest, record.image, record.revision) == (VERSION, digest, reference, REVISION)
    assert any(f"{VERSION} is {reference}" in e.message for e in reporter.events)


def test_an_unknown_version_is_refused_before_any_host_is_asked_and_the_old_one_keeps_serving(tmp_path):
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"))
    _pushed_from_ci(tmp_path, registry)
    fakes = _hosts(registry, HOSTS)
    laptop = _checkout(tmp_path, "laptop")
    transport = httpx.MockTransport(registry)
    with fakes.session(laptop, registry_transport=transport) as session:
        pipeline.deploy(session, "production", version=VERSION)
    before = {name: len(fakes.engines[name].requests) for name in HOSTS}
    with pytest.raises(RegistryNotFound) as refused, fakes.session(laptop, registry_transport=transport) as session:
        pipeline.deploy(session, "production", version="v9.9.9")
    assert refused.value.message == f"image reg.example/{REPOSITORY}:v9.9.9 is not in the registry"
    assert "goship push" in (refused.value.hint or "") and "goship tags" in (refused.value.hint or "")
    assert {name: len(fakes.engines[name].requests) for name in HOSTS} == before
    assert all(_serving(fakes, name) == VERSION for name in HOSTS)


def test_an_image_named_by_digest_is_deployed_and_one_named_by_tag_is_refused(tmp_path):
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"))
    digest = _pushed_from_ci(tmp_path, registry)
    fakes = _hosts(registry, HOSTS)
    laptop = _checkout(tmp_path, "laptop")
    transport = httpx.MockTransport(registry)
    with fakes.session(laptop, registry_transport=transport) as session:
        result = pipeline.deploy(session, "production", image=f"reg.example/{REPOSITORY}@{digest}")
    # No tag was given: the version is the one the image was built as (its label).
    assert result.version == VERSION and all(_serving(fakes, name) == VERSION for name in HOSTS)
    with pytest.raises(GoshipError, match="by tag, not by digest") as tagged, fakes.session(laptop) as session:
        pipeline.deploy(session, "production", image=f"reg.example/{REPOSITORY}:{VERSION}")
    assert "--version" in (tagged.value.hint or "") and "@sha256" in (tagged.value.hint or "")
    missing = "sha256:" + "0" * 64
    with pytest.raises(RegistryNotFound, match=f"image reg.example/{REPOSITORY}@{missing} is not in the registry"), \
            fakes.session(laptop, registry_transport=transport) as session:
        pipeline.deploy(session, "production", image=f"reg.example/{REPOSITORY}@{missing}")


def test_version_and_image_are_exclusive_and_a_version_must_be_a_tag(tmp_path, capsys):
    laptop = _checkout(tmp_path, "laptop")
    fakes = FakeHosts()
    with pytest.raises(GoshipError, match="give one"), fakes.session(laptop) as session:
        pipeline.deploy(session, "production", version="v1", image=f"reg.example/{REPOSITORY}@sha256:" + "a" * 64)
    with pytest.raises(GoshipError, match="not a tag") as digest_as_version, fakes.session(laptop) as session:
        pipeline.deploy(session, "production", version="sha256:" + "a" * 64)
    assert "--image" in (digest_as_version.value.hint or "")
    with pytest.raises(SystemExit) as usage:
        cli.main(["deploy", "production", "--version", "v1", "--image", "x@sha256:" + "a" * 64])
    assert usage.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_the_local_target_pulls_a_pushed_version_into_this_machines_engine(tmp_path):
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"))
    digest = _pushed_from_ci(tmp_path, registry)
    fakes = _hosts(registry, ["local"])
    with fakes.session(_checkout(tmp_path, "laptop"), registry_transport=httpx.MockTransport(registry)) as session:
        [host] = pipeline.deploy(session, "local", version=VERSION).hosts
    engine = fakes.engines["local"]
    assert [r.path for r in engine.requests if r.path in ("/images/load", "/images/create")] == ["/images/create"]
    [app] = engine.app_containers("hello")
    assert app.image == f"reg.example/{REPOSITORY}@{digest}" and app.labels["goship.version"] == VERSION
    assert fakes.probers["local"].serving(int(host.url.rsplit(":", 1)[1])) == app


def test_deploy_with_nothing_built_says_so_and_how_to_go_on(tmp_path, capsys):
    laptop = _checkout(tmp_path, "laptop")
    with pytest.raises(BuildError) as refused, FakeHosts().session(laptop) as session:
        pipeline.deploy(session, "production")
    assert refused.value.message.startswith("nothing built yet for hello")
    assert all(words in (refused.value.hint or "") for words in ("goship build", "goship ship", "--version"))
    assert not (laptop.root / ".goship").exists()
    # From the command line: one line and a hint, no FileNotFoundError.
    (laptop.root / "go.mod").write_text("module example.com/hello\n\ngo 1.22\n")
    (laptop.root / "main.go").write_text("package main\n\nfunc main() {}\n")
    with pytest.raises(SystemExit) as exited:
        cli.main(["deploy", "-C", str(laptop.root)])
    printed = capsys.readouterr().err
    assert exited.value.code == 1 and "nothing built yet" in printed and "--version" in printed
    assert "FileNotFoundError" not in printed and "Errno" not in printed


# --- the registry side: a tag or digest to the image it names -----------------------------------------------------


def _config(labels: dict[str, str], arch: str = "amd64") -> bytes:
    return json.dumps({"architecture": arch, "os": "linux", "config": {"Labels": labels},
                       "rootfs": {"type": "layers", "diff_ids": []}}).encode()


def _image(registry: FakeRegistry, labels: dict[str, str], arch: str = "amd64") -> str:
    config = registry.add_blob(REPOSITORY, _config(labels, arch))
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST, "layers": [],
                "config": {"mediaType": MEDIA_CONFIG, "digest": config, "size": 1}}
    return registry.add_manifest(REPOSITORY, json.dumps(manifest).encode())


def _client(registry: FakeRegistry) -> RegistryClient:
    return RegistryClient("reg.example", credentials=Credentials("ci", "s3cret"), transport=httpx.MockTransport(registry))


def test_a_multi_platform_index_is_deployed_by_the_index_digest_with_this_platforms_labels():
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"))
    amd = _image(registry, {pushed.VERSION_LABEL: "v2", pushed.REVISION_LABEL: "r-amd"}, "amd64")
    arm = _image(registry, {pushed.VERSION_LABEL: "v2", pushed.REVISION_LABEL: "r-arm"}, "arm64")
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [
        {"mediaType": MEDIA_MANIFEST, "digest": amd, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": MEDIA_MANIFEST, "digest": arm, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
    ]}
    digest = registry.add_manifest(REPOSITORY, json.dumps(index).encode(), MEDIA_INDEX, tags=["v2"])
    with _client(registry) as client:
        found = pushed.find(client, Repository("reg.example", REPOSITORY), "v2", "arm64")
    assert (found.digest, found.version, found.revision) == (digest, "v2", "r-arm")
    assert found.platforms == ("linux/amd64", "linux/arm64")
    assert found.reference == f"reg.example/{REPOSITORY}@{digest}"


def test_an_artifact_is_not_deployed_as_an_image():
    registry = FakeRegistry(auth="bearer", credentials=("ci", "s3cret"))
    blob = registry.add_blob(REPOSITORY, b"{}")
    sbom = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST, "artifactType": "application/spdx+json", "layers": [],
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": blob, "size": 2}}
    registry.add_manifest(REPOSITORY, json.dumps(sbom).encode(), tags=["sha256-" + "a" * 64])
    with pytest.raises(RegistryError, match="is not a container image"), _client(registry) as client:
        pushed.find(client, Repository("reg.example", REPOSITORY), "sha256-" + "a" * 64, "amd64")


@pytest.mark.parametrize(
    ("index", "arch", "chosen"),
    [
        ([("a", "linux", "amd64"), ("b", "linux", "arm64")], "arm64", "b"),
        ([("a", "linux", "amd64"), ("b", "linux", "arm64")], "riscv64", "a"),  # none for here: the first linux one
        ([("p", "unknown", "unknown"), ("b", "linux", "arm64")], "amd64", "b"),  # attestations are not images
        ([("w", "windows", "amd64"), ("b", "linux", "arm64")], "amd64", "b"),
    ],
)
def test_the_platform_read_from_an_index(index, arch, chosen):
    document = {"manifests": [{"digest": d, "platform": {"os": o, "architecture": a}} for d, o, a in index]}
    assert pushed.choose_platform(document, arch)[0] == chosen


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("reg.example/team/hello:v1", "by tag, not by digest"),
        ("reg.example/team/hello@sha256:abc", "is not a digest"),
        ("reg.example/team/hello@md5:" + "a" * 32, "is not a digest"),
    ],
)
def test_image_references_must_name_a_digest(text, problem):
    with pytest.raises(ValueError, match=problem):
        pushed.parse_digest_reference(text)
    digest = "sha256:" + "b" * 64
    assert pushed.parse_digest_reference(f"reg.example/team/hello:v1@{digest}") == (
        Repository("reg.example", "team/hello"), digest
    )


def test_the_version_of_an_image_named_by_digest():
    digest = "sha256:" + "c" * 64
    assert pushed.version_of({pushed.VERSION_LABEL: "v1.2.0"}, digest) == "v1.2.0"
    assert pushed.version_of({pushed.VERSION_LABEL: "not a name"}, digest) == "c" * 12  # it names containers
    assert pushed.version_of({}, digest) == "c" * 12
