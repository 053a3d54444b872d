"""Registry client logic against a scripted transport (real-registry tests are in e2e)."""

import httpx
import pytest

from goship.build import oci
from goship.errors import RegistryError
from goship.registry import client as client_module
from goship.registry.client import RegistryClient
from goship.registry.credentials import Credentials
from goship.registry.reference import parse_repository


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda s: None)


def _image():
    layer = oci.make_layer(oci.app_entries("x", b"bin"), 0, "app")
    return oci.assemble(
        oci.ImageSpec("linux", "amd64", None, ("/x",), None, 0, {}), (layer,)
    )


class FakeRegistry:
    """A registry in memory, with a Bearer token service, as a transport."""

    def __init__(self, have=(), fail_uploads=0):
        self.blobs = set(have)
        self.manifests = {}
        self.requests = []
        self.fail_uploads = fail_uploads

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if request.url.host == "auth.example":
            assert request.headers["Authorization"].startswith("Basic ")
            return httpx.Response(200, json={"token": "T"})
        if request.headers.get("Authorization") != "Bearer T":
            return httpx.Response(
                401,
                headers={"WWW-Authenticate": 'Bearer realm="https://auth.example/token",service="reg",scope="x"'},
            )
        path = request.url.path
        if request.method == "HEAD" and "/blobs/" in path:
            return httpx.Response(200 if path.rsplit("/", 1)[1] in self.blobs else 404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/team/app/blobs/uploads/u1?state=s"})
        if request.method == "PUT" and "/uploads/" in path:
            if self.fail_uploads:
                self.fail_uploads -= 1
                return httpx.Response(500)
            digest = request.url.params["digest"]
            assert oci.sha256_digest(request.content) == digest
            self.blobs.add(digest)
            return httpx.Response(201)
        if request.method == "PUT" and "/manifests/" in path:
            digest = oci.sha256_digest(request.content)
            self.manifests[path.rsplit("/", 1)[1]] = digest
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        return httpx.Response(404)


def _client(fake, **kw):
    return RegistryClient("reg.example", credentials=Credentials("u", "p"), transport=httpx.MockTransport(fake), **kw)


def test_push_with_token_auth_uploads_missing_blobs_only():
    image = _image()
    fake = FakeRegistry(have={image.config.digest})
    result = _client(fake).push("team/app", image, ["v1"])
    assert result.uploaded_blobs == 1 and result.skipped_blobs == 1
    assert result.uploaded_bytes == image.layers[0].blob.size
    assert fake.manifests["v1"] == image.digest
    assert result.reference == f"reg.example/team/app@{image.digest}"
    # Blobs strictly before the manifest.
    order = [m for m, p in fake.requests if "manifests" in p or "uploads/u1" in p]
    assert order[-2:] == ["PUT", "PUT"]


def test_retries_5xx_then_succeeds():
    fake = FakeRegistry(fail_uploads=2)
    assert _client(fake).push("team/app", _image(), []).uploaded_blobs == 2


def test_registry_failing_every_upload_is_a_clear_error():
    fake = FakeRegistry(fail_uploads=100)
    with pytest.raises(RegistryError, match=r"refused to upload blob sha256:.*HTTP 500"):
        _client(fake).push("team/app", _image(), [])
    assert "m" not in fake.manifests


def test_wrong_password_is_named_without_the_password():
    def refuse(request):
        if request.url.host == "auth.example":
            return httpx.Response(401)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example/t"'})

    client = RegistryClient("reg.example", credentials=Credentials("alice", "s3cret"), transport=httpx.MockTransport(refuse))
    with pytest.raises(RegistryError) as info:
        client.blob_exists("team/app", "sha256:00")
    assert "s3cret" not in str(info.value) and "s3cret" not in repr(Credentials("alice", "s3cret"))


def test_parse_repository():
    assert str(parse_repository("10.231.0.1:5000/hello")) == "10.231.0.1:5000/hello"
    assert parse_repository("acme/app").registry == "registry-1.docker.io"
    assert parse_repository("app").path == "library/app"
    for bad in ("reg:5000/App", "reg:5000/app:tag", "reg/app@sha256:00"):
        with pytest.raises(ValueError):
            parse_repository(bad)
