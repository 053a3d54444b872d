"""The registry client against the real registry (Debian's docker-registry),
directly and behind a fault-injecting proxy; checked by skopeo.

These tests start their own registries on 127.0.0.1 (module fixtures) and
use no Docker engine: images are assembled with goship's oci module, and
CLI tests use ``goship build``, which needs only Go.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from goship.errors import RegistryError, RegistryNotFound
from goship.images import oci
from goship.registry.client import RegistryClient
from goship.registry.credentials import Credentials
from goship.registry.protocol import RetryPolicy
from testbed import registry
from testbed.faultproxy import UPLOAD_PATH, Fault, FaultProxy, start_proxy
from tests.conftest import assert_clean_failure, run_goship

pytestmark = pytest.mark.e2e

USER, PASSWORD = "alice", "correct-horse-battery"
MiB = 1024 * 1024
FAST = RetryPolicy(attempts=5, base=0.05, cap=0.5)


@pytest.fixture(scope="module")
def plain_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registry.Registry]:
    reg = registry.start_registry(tmp_path_factory.mktemp("plainreg"), host="127.0.0.1")
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def secure_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registry.Registry]:
    """htpasswd (basic auth) and TLS with a private CA, as a company registry would be."""
    reg = registry.start_registry(
        tmp_path_factory.mktemp("securereg"), host="127.0.0.1", htpasswd=(USER, PASSWORD), tls=True
    )
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def module_proxy(plain_registry: registry.Registry) -> Iterator[FaultProxy]:
    proxy = start_proxy(plain_registry.addr)
    yield proxy
    proxy.stop()


@pytest.fixture
def proxy(module_proxy: FaultProxy) -> FaultProxy:
    module_proxy.reset()
    return module_proxy


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No registry credentials from the environment; an empty docker config dir."""
    monkeypatch.delenv("GOSHIP_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("GOSHIP_REGISTRY_PASSWORD", raising=False)
    docker_config = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    return docker_config


def _image(layer_size: int, entrypoint: str = "/x", layer: oci.Layer | None = None) -> oci.Image:
    layer = layer or oci.make_layer([oci.Entry("blob", os.urandom(layer_size))], 0, "random bytes")
    return oci.assemble(oci.ImageSpec("linux", "amd64", None, (entrypoint,), None, 0, {}), (layer,))


def _client(addr: str, **kw: object) -> RegistryClient:
    kw.setdefault("insecure", True)
    kw.setdefault("retry", FAST)
    return RegistryClient(addr, **kw)  # type: ignore[arg-type]


def _skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)


def _manifest_status(reg: registry.Registry, repository: str, reference: str) -> int:
    """GET the manifest straight from the registry (not through the proxy)."""
    response = httpx.get(
        f"{reg.url}/v2/{repository}/manifests/{reference}",
        headers={"Accept": oci.MEDIA_MANIFEST},
        verify=str(reg.ca_file) if reg.ca_file else True,
    )
    return response.status_code


def _goship_with_stdin(stdin: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "goship", *args],
        input=stdin,
        env={**os.environ, "PATH": path, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _configure(project: Path, image: str, registry_yaml: str) -> None:
    (project / "goship.yaml").write_text(f"image: {image}\nregistry:\n{registry_yaml}")


def _build(project: Path) -> None:
    built = run_goship("build", "-C", str(project))
    assert built.returncode == 0, built.stderr


# Chunked upload ------------------------------------------------------------------------


def test_large_layer_goes_in_chunks_and_skopeo_reads_it(plain_registry: registry.Registry, tmp_path: Path) -> None:
    image = _image(20 * MiB)
    layer = image.layers[0].blob
    with _client(plain_registry.addr, chunk_size=4 * MiB) as client:
        result = client.push("e2e/big", image, ["v1"])
        assert client.stats.chunks == -(-layer.size // (4 * MiB)) == 6
        assert client.get_blob("e2e/big", layer.digest) == layer.data
    assert result.uploaded_bytes == layer.size + image.config.size
    reference = f"docker://{plain_registry.addr}/e2e/big:v1"
    inspected = _skopeo("inspect", "--tls-verify=false", reference)
    assert inspected.returncode == 0, inspected.stderr
    info = json.loads(inspected.stdout)
    assert info["Digest"] == image.digest and info["Layers"] == [layer.digest]
    copied = _skopeo("copy", "--src-tls-verify=false", reference, f"oci:{tmp_path / 'layout'}:v1")
    assert copied.returncode == 0, copied.stderr
    stored = tmp_path / "layout" / "blobs" / "sha256" / layer.digest.split(":", 1)[1]
    assert stored.read_bytes() == layer.data


# Faults --------------------------------------------------------------------------------


def test_connection_dropped_mid_chunk_resumes_from_the_registry_range(
    proxy: FaultProxy, plain_registry: registry.Registry
) -> None:
    image = _image(20 * MiB)
    proxy.add(Fault("drop", "PATCH", UPLOAD_PATH, nth=3))
    with _client(proxy.addr, chunk_size=4 * MiB) as client:
        client.push("e2e/resume", image, ["v1"])
        stats = client.stats
    assert proxy.count("PATCH", outcome="drop") == 1
    assert proxy.count("GET", UPLOAD_PATH, outcome="204") == 1  # asked the registry where it stood
    assert (stats.resumed, stats.restarted, stats.dropped) == (1, 0, 1)
    assert proxy.count("PATCH", outcome="202") == 6  # every chunk accepted once, nothing re-sent from 0
    assert proxy.count("POST", UPLOAD_PATH) == 2  # one session per blob: resumed, not restarted
    assert _skopeo("inspect", "--tls-verify=false", f"docker://{plain_registry.addr}/e2e/resume:v1").returncode == 0


def test_answer_lost_after_a_chunk_was_stored_restarts_the_blob_cleanly(
    proxy: FaultProxy, plain_registry: registry.Registry
) -> None:
    """The registry stored the chunk but the answer never came: distribution then
    refuses the stale session (404), and the blob starts over in a new one."""
    image = _image(20 * MiB)
    proxy.add(Fault("drop_after", "PATCH", UPLOAD_PATH, nth=3))
    with _client(proxy.addr, chunk_size=4 * MiB) as client:
        client.push("e2e/restart", image, ["v1"])
        stats = client.stats
    assert proxy.count("PATCH", outcome="drop_after:202") == 1
    assert (stats.restarted, stats.resumed) == (1, 0)
    assert proxy.count("POST", UPLOAD_PATH) == 3  # config, layer, layer again
    inspected = _skopeo("inspect", "--tls-verify=false", f"docker://{plain_registry.addr}/e2e/restart:v1")
    assert json.loads(inspected.stdout)["Digest"] == image.digest


def test_lost_answer_to_the_blob_commit_is_settled_by_head(proxy: FaultProxy) -> None:
    image = _image(1000)
    proxy.add(Fault("drop_after", "PUT", UPLOAD_PATH, nth=2))
    with _client(proxy.addr) as client:
        result = client.push("e2e/settle", image, ["v1"])
    assert result.uploaded_blobs == 2
    assert proxy.count("PUT", UPLOAD_PATH, outcome="drop_after:201") == 1
    assert proxy.count("POST", UPLOAD_PATH) == 2  # confirmed by HEAD, not uploaded again
    assert proxy.count("PUT", "/manifests/v1", outcome="201") == 1


def test_manifest_put_that_never_gets_through_fails_cleanly(
    proxy: FaultProxy, plain_registry: registry.Registry
) -> None:
    image = _image(1000)
    proxy.add(Fault("drop", "PUT", "/manifests/", times=None))
    with _client(proxy.addr) as client, pytest.raises(RegistryError) as info:
        client.push("e2e/nomanifest", image, ["v1"])
    assert "got no answer" in info.value.message and "(after 5 attempts)" in info.value.message
    assert proxy.count("PUT", "/manifests/", outcome="drop") == 5
    assert _manifest_status(plain_registry, "e2e/nomanifest", "v1") == 404
    assert _manifest_status(plain_registry, "e2e/nomanifest", image.digest) == 404


def test_blob_upload_that_keeps_failing_leaves_no_manifest(
    proxy: FaultProxy, plain_registry: registry.Registry
) -> None:
    image = _image(6 * MiB)
    proxy.add(Fault("drop", "PATCH", UPLOAD_PATH, nth=2, times=None))
    with _client(proxy.addr, chunk_size=2 * MiB) as client, pytest.raises(RegistryError) as info:
        client.push("e2e/noblob", image, ["v1"])
    assert "failed to accept uploads" in info.value.message and "(after 5 attempts)" in info.value.message
    assert proxy.count("PUT", "/manifests/") == 0
    assert _manifest_status(plain_registry, "e2e/noblob", "v1") == 404
    with _client(plain_registry.addr) as direct, pytest.raises(RegistryNotFound):
        direct.get_manifest("e2e/noblob", "v1")


def test_registry_failing_every_upload_is_one_line_through_the_cli(
    proxy: FaultProxy, hello: Path, clean_env: Path
) -> None:
    proxy.add(Fault(500, "POST|PATCH|PUT", UPLOAD_PATH, times=None))
    _configure(hello, f"{proxy.addr}/team/hello", "  insecure: true\n")
    _build(hello)
    result = run_goship("push", "-C", str(hello))
    assert_clean_failure(
        result, f"registry {proxy.addr} failed to accept uploads: HTTP 500", "(after 5 attempts)", "hint:"
    )
    assert proxy.count("POST", UPLOAD_PATH, outcome="fault:500") == 5
    assert proxy.count("PUT", "/manifests/") == 0


# Mount, tags ------------------------------------------------------------------------


def test_cross_repository_mount_uploads_nothing_of_the_shared_layer(proxy: FaultProxy) -> None:
    base = _image(3 * MiB)
    derived = _image(0, entrypoint="/y", layer=base.layers[0])  # same layer, another config
    with _client(proxy.addr) as client:
        client.push("e2e/base", base, ["v1"])
        proxy.reset()
        result = client.push("e2e/derived", derived, ["v1"], mount_from=["e2e/base"])
        assert client.mount_blob("e2e/third", base.layers[0].blob.digest, "e2e/base") is True
        assert client.mount_blob("e2e/third", "sha256:" + "0" * 64, "e2e/base") is False
    assert (result.mounted_blobs, result.uploaded_blobs) == (1, 1)
    assert result.uploaded_bytes == derived.config.size  # only the config went over the wire
    assert proxy.count("POST", "mount=", outcome="201") == 2
    assert proxy.count("PATCH") == 0


def test_tag_listing_follows_pagination(proxy: FaultProxy) -> None:
    """Debian's registry (distribution 2.8) ignores n= and answers all tags at
    once; the proxy pages its real list as the OCI spec says (paginate_tags)."""
    image = _image(100)
    tags = ["v1", "v2", "v3", "v4", "v5"]
    with _client(proxy.addr) as client:
        client.push("e2e/tags", image, tags)
        assert sorted(client.list_tags("e2e/tags", page_size=2)) == tags  # unpaged by the registry itself
        proxy.reset()
        proxy.paginate_tags = True
        try:
            assert client.list_tags("e2e/tags", page_size=2) == tags
            assert client.list_tags("e2e/unknown") == []
        finally:
            proxy.paginate_tags = False
    assert [entry.path for entry in proxy.log if "e2e/tags" in entry.path] == [
        "/v2/e2e/tags/tags/list?n=2",
        "/v2/e2e/tags/tags/list?n=2&last=v2",
        "/v2/e2e/tags/tags/list?n=2&last=v4",
    ]


# Auth and TLS ----------------------------------------------------------------------


def test_tls_with_ca_file_and_basic_auth(secure_registry: registry.Registry) -> None:
    assert secure_registry.ca_file is not None and secure_registry.cert_dir is not None
    image = _image(100)
    login = Credentials(USER, PASSWORD)
    with RegistryClient(secure_registry.addr, ca_file=secure_registry.ca_file, credentials=login) as client:
        client.push("e2e/tls", image, ["v1"])
        assert client.auth.scheme == "basic"
    inspected = _skopeo(
        "inspect", f"--cert-dir={secure_registry.cert_dir}", f"--creds={USER}:{PASSWORD}",
        f"docker://{secure_registry.addr}/e2e/tls:v1",
    )
    assert inspected.returncode == 0, inspected.stderr
    with RegistryClient(secure_registry.addr, credentials=login) as untrusting, pytest.raises(RegistryError) as info:
        untrusting.check()
    assert info.value.message.startswith(f"TLS certificate of registry {secure_registry.addr} is not trusted")


def test_untrusted_tls_certificate_is_one_line_through_the_cli(
    secure_registry: registry.Registry, hello: Path, clean_env: Path
) -> None:
    env = {"GOSHIP_REGISTRY_USERNAME": USER, "GOSHIP_REGISTRY_PASSWORD": PASSWORD}
    _configure(hello, f"{secure_registry.addr}/team/hello", "  insecure: false\n")
    _build(hello)
    refused = run_goship("push", "-C", str(hello), env=env)
    assert_clean_failure(refused, f"TLS certificate of registry {secure_registry.addr} is not trusted", "registry.ca_file")
    _configure(hello, f"{secure_registry.addr}/team/hello", f"  ca_file: {secure_registry.ca_file}\n")
    pushed = run_goship("push", "-C", str(hello), env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip().startswith(f"{secure_registry.addr}/team/hello@sha256:")
    assert PASSWORD not in pushed.stdout + pushed.stderr


def test_wrong_password_is_one_line_and_never_printed(
    secure_registry: registry.Registry, hello: Path, clean_env: Path
) -> None:
    _configure(hello, f"{secure_registry.addr}/team/hello", f"  ca_file: {secure_registry.ca_file}\n")
    _build(hello)
    wrong = "wrong-Pa55word-xyz"
    result = run_goship(
        "push", "-C", str(hello), env={"GOSHIP_REGISTRY_USERNAME": USER, "GOSHIP_REGISTRY_PASSWORD": wrong}
    )
    assert_clean_failure(result, f"registry {secure_registry.addr} refused the login as '{USER}'")
    assert wrong not in result.stdout + result.stderr


def test_login_stores_a_checked_login_that_push_then_uses(
    secure_registry: registry.Registry, hello: Path, clean_env: Path
) -> None:
    _configure(hello, f"{secure_registry.addr}/team/hello", f"  ca_file: {secure_registry.ca_file}\n")
    _build(hello)
    config = clean_env / "config.json"

    refused = _goship_with_stdin("not-the-password\n", "login", "-C", str(hello), "-u", USER, "--password-stdin")
    assert_clean_failure(refused, f"refused the login as '{USER}'")
    assert "not-the-password" not in refused.stdout + refused.stderr
    assert not config.exists()  # a wrong password writes nothing

    logged_in = _goship_with_stdin(PASSWORD + "\n", "login", "-C", str(hello), "-u", USER, "--password-stdin")
    assert logged_in.returncode == 0, logged_in.stderr
    assert "Login Succeeded" in logged_in.stdout and PASSWORD not in logged_in.stdout + logged_in.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert secure_registry.addr in json.loads(config.read_text())["auths"]

    pushed = run_goship("push", "-C", str(hello))  # no password in the environment
    assert pushed.returncode == 0, pushed.stderr
    version = json.loads((hello / ".goship" / "push.json").read_text())["version"]
    tags = run_goship("tags", "-C", str(hello))
    assert tags.returncode == 0, tags.stderr
    assert version in tags.stdout.split()

    logged_out = run_goship("logout", "-C", str(hello))
    assert logged_out.returncode == 0 and "Removed login" in logged_out.stdout
    assert_clean_failure(run_goship("push", "-C", str(hello)), f"registry {secure_registry.addr} needs a login")
