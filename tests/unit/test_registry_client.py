"""Registry client logic against a scripted transport (real-registry tests are in e2e).

The pure protocol pieces (chunk plans, Range, Link, backoff, challenges,
scopes) are tested by tables; the client's recovery paths by a registry in
memory that can drop connections and fail on cue.
"""

import base64
import json
import logging
import os
import random
import re
import stat
from datetime import UTC, datetime

import httpx
import pytest

from goship.errors import RegistryError, RegistryNotFound
from goship.images import oci
from goship.images.reference import parse_repository
from goship.registry import auth, credentials, protocol
from goship.registry import client as client_module
from goship.registry.client import RegistryClient
from goship.registry.credentials import Credentials
from goship.registry.protocol import RetryPolicy
from goship.testing.registry import CHALLENGE, FakeRegistry

SLEEPS: list[float] = []


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    SLEEPS.clear()
    monkeypatch.setattr(client_module.time, "sleep", SLEEPS.append)


def _image(layer_bytes: bytes = b"bin"):
    layer = oci.make_layer(oci.app_entries("x", layer_bytes), 0, "app")
    return oci.assemble(oci.ImageSpec("linux", "amd64", None, ("/x",), None, 0, {}), (layer,))


# Pure protocol pieces --------------------------------------------------------------


@pytest.mark.parametrize(
    "size, chunk, start, expected",
    [
        (10, 4, 0, [(0, 3), (4, 7), (8, 9)]),
        (8, 4, 0, [(0, 3), (4, 7)]),
        (10, 4, 6, [(6, 9)]),
        (10, 4, 10, []),
        (3, 8, 0, [(0, 2)]),
    ],
)
def test_plan_chunks(size, chunk, start, expected):
    assert protocol.plan_chunks(size, chunk, start) == expected
    assert [protocol.content_range(first, last) for first, last in expected] == [f"{a}-{b}" for a, b in expected]


@pytest.mark.parametrize(
    "header, offset",
    [(None, 0), ("", 0), ("0-0", 0), ("0-1023", 1024), ("bytes=0-9", 10), (" 0-4194303 ", 4194304)],
)
def test_committed_offset(header, offset):
    assert protocol.committed_offset(header) == offset


@pytest.mark.parametrize("header", ["junk", "5-10", "0-", "10-2"])
def test_committed_offset_rejects_malformed(header):
    with pytest.raises(ValueError, match=f"(malformed Range header|unexpected upload Range) {re.escape(repr(header))}"):
        protocol.committed_offset(header)


@pytest.mark.parametrize(
    "header, target",
    [
        ('</v2/a/tags/list?last=b&n=2>; rel="next"', "/v2/a/tags/list?last=b&n=2"),
        ("<https://r/v2/a/tags/list?n=2&last=x>; rel=next", "https://r/v2/a/tags/list?n=2&last=x"),
        ('<https://r/prev>; rel="prev", <https://r/next>; rel="next"', "https://r/next"),
        ('<https://r/x>; rel="prev"', None),
        (None, None),
    ],
)
def test_next_link(header, target):
    assert protocol.next_link(header) == target


def test_with_digest_keeps_the_upload_state_query():
    assert protocol.with_digest("https://r/u/1?_state=abc", "sha256:00") == "https://r/u/1?_state=abc&digest=sha256:00"
    assert protocol.with_digest("https://r/u/1", "sha256:00") == "https://r/u/1?digest=sha256:00"


def test_backoff_grows_is_capped_and_jittered():
    policy = RetryPolicy(attempts=6, base=0.5, cap=4.0)
    rng = random.Random(7)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        delays = {policy.delay(retry, rng=rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter: clients failing together do not retry together


def test_retry_after_wins_and_is_capped():
    policy = RetryPolicy(max_retry_after=30)
    assert policy.delay(1, retry_after=7) == 7
    assert policy.delay(1, retry_after=3600) == 30
    assert protocol.parse_retry_after("12") == 12
    now = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert protocol.parse_retry_after("Mon, 01 Jan 2024 00:00:05 GMT", now) == 5
    assert protocol.parse_retry_after("soon") is None


@pytest.mark.parametrize("status, retry", [(500, True), (502, True), (503, True), (429, True), (404, False), (401, False), (416, False), (201, False)])
def test_retryable_status(status, retry):
    assert protocol.retryable_status(status) is retry


def test_parse_challenge():
    bearer = auth.parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a:pull repository:b:pull,push"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params["realm"] == "https://auth.example/token"
    assert bearer.params["service"] == "registry.example"
    assert bearer.scopes == ("repository:a:pull", "repository:b:pull,push")
    basic = auth.parse_challenge('Basic realm="goship-test"')
    assert basic.scheme == "basic" and basic.params == {"realm": "goship-test"}
    assert auth.parse_challenge("Bearer realm=https://x/t, service=reg").params == {"realm": "https://x/t", "service": "reg"}
    assert auth.parse_challenge("") is None


def test_merge_scopes_unions_actions_per_repository():
    assert auth.merge_scopes(["repository:b:push", "repository:a:pull"], ["repository:b:pull"]) == (
        "repository:a:pull",
        "repository:b:pull,push",
    )


class TokenService:
    def __init__(self):
        self.calls = []

    def __call__(self, realm, query, headers):
        self.calls.append(query)
        return httpx.Response(200, json={"token": f"T{len(self.calls)}", "expires_in": 300})


def test_tokens_are_cached_per_scope_set_and_renewed_when_expired():
    now = [0.0]
    service = TokenService()
    authn = auth.Authenticator("reg", Credentials("u", "p"), service, clock=lambda: now[0])
    push_b = ["repository:b:pull,push"]
    mount_into_b = ["repository:b:pull,push", "repository:a:pull"]
    assert authn.header(push_b) is None
    authn.answer(CHALLENGE, push_b)
    assert authn.header(push_b) == "Bearer T1"
    assert authn.header(["repository:b:push", "repository:b:pull"]) == "Bearer T1"  # same set, any order
    assert authn.header(mount_into_b) is None  # a mount needs a token covering both repositories
    authn.answer(CHALLENGE, mount_into_b)
    assert service.calls[-1] == [("service", "reg"), ("scope", "repository:a:pull"), ("scope", "repository:b:pull,push")]
    assert authn.header(mount_into_b) == "Bearer T2" and authn.header(push_b) == "Bearer T1"
    now[0] = 1000.0  # past expires_in
    assert authn.header(push_b) is None
    assert authn.token_requests == 2


def test_token_service_refusing_names_the_user_not_the_password():
    authn = auth.Authenticator("reg", Credentials("alice", "s3cret"), lambda *a: httpx.Response(401))
    with pytest.raises(RegistryError) as info:
        authn.answer(CHALLENGE, ["repository:a:pull"])
    assert "refused the login as 'alice'" in info.value.message
    assert "s3cret" not in info.value.message + (info.value.hint or "")


@pytest.mark.parametrize(
    ("registry", "realm", "sent"),
    [
        ("reg.example.com", "https://auth.example.com/token", True),  # HTTPS anywhere
        ("10.0.0.1:5000", "http://10.0.0.1:5001/token", True),  # plain HTTP on the registry's own host
        ("reg.example.com", "http://auth.example.com/token", False),  # plain HTTP to another host: never
        ("reg.example.com", "ftp://reg.example.com/token", False),
    ],
)
def test_the_password_goes_to_a_token_realm_only_over_https_or_on_the_registry_host(registry, realm, sent):
    service = TokenService()
    authn = auth.Authenticator(registry, Credentials("u", "p4ss"), service)
    challenge = f'Bearer realm="{realm}",service="reg"'
    if sent:
        authn.answer(challenge, ["repository:a:pull"])
        assert service.calls
        return
    with pytest.raises(RegistryError, match="does not send the password there") as refused:
        authn.answer(challenge, ["repository:a:pull"])
    assert service.calls == [] and "p4ss" not in refused.value.message


# A registry in memory (goship.testing.registry) --------------------------------------


def _client(fake, **kw):
    kw.setdefault("retry", RetryPolicy(attempts=5))
    return RegistryClient("reg.example", credentials=Credentials("u", "p"), transport=httpx.MockTransport(fake), **kw)


# Push ---------------------------------------------------------------------------------


def test_push_with_token_auth_uploads_missing_blobs_only():
    image = _image()
    fake = FakeRegistry(have={image.config.digest})
    result = _client(fake).push("team/app", image, ["v1"])
    assert result.uploaded_blobs == 1 and result.skipped_blobs == 1
    assert result.uploaded_bytes == image.layers[0].blob.size
    assert oci.sha256_digest(fake.manifest("team/app", "v1")) == image.digest
    assert result.reference == f"reg.example/team/app@{image.digest}"
    order = [m for m, p, _, _ in fake.requests if "manifests" in p or "uploads/u" in p]
    assert order[-2:] == ["PUT", "PUT"]  # blobs strictly before the manifest


def test_large_blob_goes_in_chunks_with_content_range():
    image = _image(os.urandom(10_000))
    size = image.layers[0].blob.size
    fake = FakeRegistry(have={image.config.digest})
    client = _client(fake, chunk_size=4096)
    client.push("team/app", image, ["v1"])
    ranges = [h["content-range"] for m, _, h, _ in fake.requests if m == "PATCH"]
    assert ranges == [f"{a}-{b}" for a, b in protocol.plan_chunks(size, 4096)]
    assert client.stats.chunks == len(ranges) and client.stats.resumed == 0
    assert fake.blobs[image.layers[0].blob.digest] == image.layers[0].blob.data


@pytest.mark.parametrize("action", ["drop", "drop_after", 500, 416])
def test_interrupted_chunk_resumes_from_the_committed_range(action):
    image = _image(os.urandom(10_000))
    fake = FakeRegistry(have={image.config.digest}, faults={"patch": [None, action]})
    client = _client(fake, chunk_size=4096)
    client.push("team/app", image, ["v1"])
    assert client.stats.resumed == 1 and client.stats.restarted == 0
    assert fake.count("GET", "/uploads/") == 1  # asked where the upload stands
    assert fake.blobs[image.layers[0].blob.digest] == image.layers[0].blob.data
    # The interrupted chunk was sent again only when the registry had not kept it.
    chunks = len(protocol.plan_chunks(image.layers[0].blob.size, 4096))
    assert fake.count("PATCH") == chunks + (0 if action == "drop_after" else 1)


def test_lost_upload_session_restarts_the_blob():
    image = _image(os.urandom(10_000))
    fake = FakeRegistry(have={image.config.digest}, faults={"patch": [None, "drop"], "get_upload": [404]})
    client = _client(fake, chunk_size=4096)
    client.push("team/app", image, [])
    assert client.stats.restarted == 1
    assert fake.count("POST") == 2
    assert image.layers[0].blob.digest in fake.blobs


def test_lost_answer_to_the_final_put_is_settled_by_head():
    image = _image()
    fake = FakeRegistry(faults={"put_blob": ["drop_after"]})
    client = _client(fake)
    result = client.push("team/app", image, ["v1"])
    assert result.uploaded_blobs == 2
    assert fake.count("POST") == 2  # nothing uploaded twice
    assert fake.manifest("team/app", "v1") is not None


def test_retries_5xx_and_dropped_connections_then_succeeds():
    fake = FakeRegistry(faults={"post": [503, "drop"], "put_manifest": [502, "drop"]})
    client = _client(fake)
    assert client.push("team/app", _image(), ["v1"]).uploaded_blobs == 2
    assert client.stats.retries == 4 and client.stats.dropped == 2
    assert len(SLEEPS) == 4 and SLEEPS[1] > SLEEPS[0] / 2  # backoff


def test_retry_after_is_respected():
    fake = FakeRegistry(faults={"head": [httpx.Response(429, headers={"Retry-After": "3"})]})
    _client(fake).blob_exists("team/app", "sha256:00")
    assert SLEEPS == [3.0]


def test_registry_failing_every_upload_is_one_clear_error_and_no_manifest():
    fake = FakeRegistry(faults={"post": [500] * 100})
    with pytest.raises(RegistryError) as info:
        _client(fake).push("team/app", _image(), ["v1"])
    assert info.value.message == "registry reg.example failed to accept uploads: HTTP 500 (injected) (after 5 attempts)"
    assert info.value.hint
    assert fake.count("PUT", "/manifests/") == 0 and not fake.repository("team/app").manifests


def test_upload_failing_every_time_stops_before_the_manifest():
    fake = FakeRegistry(faults={"put_blob": ["drop"] * 100})
    with pytest.raises(RegistryError, match=r"failed to accept uploads: blob sha256:.*connection dropped \(after 5 attempts\)"):
        _client(fake).push("team/app", _image(), ["v1"])
    assert fake.count("PUT", "/manifests/") == 0


def test_chunk_failing_every_time_gives_up_after_the_attempts():
    image = _image(os.urandom(10_000))
    fake = FakeRegistry(have={image.config.digest}, faults={"patch": [None] + [503] * 100})
    with pytest.raises(RegistryError, match=r"HTTP 503 \(injected\) \(after 5 attempts\)"):
        _client(fake, chunk_size=4096).push("team/app", image, ["v1"])
    assert not fake.repository("team/app").manifests


def test_mount_from_another_repository_uploads_nothing_with_a_two_repository_token():
    image = _image()
    fake = FakeRegistry(mountable={b.digest for b in image.blobs})
    result = _client(fake).push("team/app", image, ["v1"], mount_from=["team/base"])
    assert (result.mounted_blobs, result.uploaded_blobs, result.uploaded_bytes) == (2, 0, 0)
    assert ["repository:team/app:pull,push", "repository:team/base:pull"] in [sorted(s) for s in fake.token_scopes]
    assert fake.count("PATCH") == 0 and fake.count("PUT", "/uploads/") == 0


def test_mount_refused_falls_back_to_uploading_in_the_offered_session():
    image = _image()
    fake = FakeRegistry(mountable={image.config.digest})
    client = _client(fake)
    result = client.push("team/app", image, [], mount_from=["team/base"])
    assert (result.mounted_blobs, result.uploaded_blobs) == (1, 1)
    assert fake.count("POST") == 2  # the 202 session of the failed mount was used for the upload
    assert client.mount_blob("team/other", image.layers[0].blob.digest, "team/base") is False
    assert fake.count("DELETE") == 1  # ... and mount_blob alone gives its session back


def test_list_tags_follows_link_pagination():
    fake = FakeRegistry()
    for tag in ["v1", "v2", "v3", "v4", "v5"]:
        fake.add_manifest("team/app", b"{}", tags=[tag])
    assert _client(fake).list_tags("team/app", page_size=2) == ["v1", "v2", "v3", "v4", "v5"]
    assert fake.count("GET", "/tags/list") == 3


def test_get_manifest_and_blob_verify_digests():
    image = _image()
    fake = FakeRegistry()
    client = _client(fake)
    client.push("team/app", image, ["v1"])
    media_type, data, digest = client.get_manifest("team/app", "v1")
    assert (media_type, data, digest) == (oci.MEDIA_MANIFEST, image.manifest.data, image.digest)
    assert client.get_manifest("team/app", image.digest, accept=oci.MEDIA_MANIFEST)[2] == image.digest
    assert client.get_blob("team/app", image.config.digest) == image.config.data
    fake.blobs[image.config.digest] = b"tampered"
    with pytest.raises(RegistryError, match="sent blob sha256:.* with digest sha256:.*expected"):
        client.get_blob("team/app", image.config.digest)
    fake.repository("team/app").manifests[image.digest] = b"{}"
    with pytest.raises(RegistryError, match="expected " + image.digest):
        client.get_manifest("team/app", image.digest)
    with pytest.raises(RegistryNotFound, match="not found"):
        client.get_manifest("team/app", "nope")


def _arm_image():
    layer = oci.make_layer(oci.app_entries("x", b"arm"), 0, "app")
    return oci.assemble(oci.ImageSpec("linux", "arm64", None, ("/x",), None, 0, {}), (layer,))


def test_the_fake_keeps_an_index_its_images_and_an_sbom_found_through_the_fallback_tag():
    from goship.registry.publish import fallback_tag, push_built, referrers

    index = oci.make_index([_image(), _arm_image()])
    sbom = oci.make_artifact(oci.MEDIA_SPDX, oci.Blob(oci.MEDIA_SPDX, b'{"spdxVersion": "SPDX-2.3"}'),
                             index.images[0].manifest, {})
    fake = FakeRegistry()
    client = _client(fake)
    result = push_built(client, "team/app", index, ["v1"], [sbom])
    assert result.digest == index.digest and fake.manifest("team/app", "v1") == index.manifest.data
    assert client.get_manifest("team/app", "v1")[0] == oci.MEDIA_INDEX
    assert client.get_manifest("team/app", index.images[1].digest)[2] == index.images[1].digest
    assert [d["digest"] for d in referrers(client, "team/app", index.images[0].digest)] == [sbom.digest]
    assert fake.manifest("team/app", fallback_tag(index.images[0].digest)) is not None
    head = client.request("HEAD", f"{client.base}/v2/team/app/manifests/v1", scope="repository:team/app:pull")
    assert head.status_code == 200 and head.headers["Docker-Content-Digest"] == index.digest
    assert client.list_tags("team/app") == sorted(["v1", fallback_tag(index.images[0].digest)])
    assert client.list_tags("team/other") == []  # repositories are apart
    assert not client.blob_exists("team/other", index.images[0].config.digest)


def test_the_fake_mounts_from_a_repository_that_holds_the_blob():
    from goship.registry.publish import push_built

    image = _image()
    fake = FakeRegistry()
    for blob in image.blobs:
        fake.add_blob("team/base", blob.data)
    result = push_built(_client(fake), "team/app", image, ["v1"], mount_from=["team/base"])
    assert (result.mounted_blobs, result.uploaded_blobs) == (2, 0)
    assert all(fake.has_blob("team/app", blob.digest) for blob in image.blobs)


def test_the_fake_refuses_a_manifest_whose_blobs_it_lacks_and_a_digest_that_does_not_match():
    image = _image()
    client = _client(FakeRegistry(), retry=RetryPolicy(attempts=1))
    with pytest.raises(RegistryError, match="MANIFEST_BLOB_UNKNOWN|blobs team/app lacks"):
        client.put_manifest("team/app", "v1", image.manifest)
    with pytest.raises(RegistryError):
        client.put_manifest("team/app", "sha256:" + "0" * 64, image.manifest)


def test_the_fake_takes_a_monolithic_post_and_basic_auth_or_none():
    data = b"whole blob"
    digest = oci.sha256_digest(data)
    fake = FakeRegistry(auth=None)
    with httpx.Client(transport=httpx.MockTransport(fake), base_url="https://reg.example") as http:
        assert http.post("/v2/team/app/blobs/uploads/", params={"digest": digest}, content=data).status_code == 201
    assert fake.has_blob("team/app", digest) and fake.blobs[digest] == data
    assert RegistryClient("reg.example", transport=httpx.MockTransport(fake)).blob_exists("team/app", digest)

    basic = FakeRegistry(auth="basic", credentials=("u", "p"))
    assert _client(basic).push("team/app", _image(), ["v1"]).uploaded_blobs == 2
    assert basic.requests and all(seen.headers["authorization"].startswith("Basic ") for seen in basic.requests)
    wrong = RegistryClient("reg.example", credentials=Credentials("u", "nope"), transport=httpx.MockTransport(basic))
    with pytest.raises(RegistryError, match="refused the login as 'u'"):
        wrong.check()


def test_wrong_password_is_named_without_the_password():
    def refuse(request):
        if request.url.host == "auth.example":
            return httpx.Response(401)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example/t"'})

    client = RegistryClient("reg.example", credentials=Credentials("alice", "s3cret"), transport=httpx.MockTransport(refuse))
    with pytest.raises(RegistryError, match="refused the login as 'alice'") as info:
        client.blob_exists("team/app", "sha256:00")
    assert "s3cret" not in str(info.value) and "s3cret" not in repr(Credentials("alice", "s3cret"))


def test_basic_auth_wrong_password_is_refused_once_named(caplog):
    seen = []

    def basic(request):
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    caplog.set_level(logging.DEBUG)
    client = RegistryClient("reg.example", credentials=Credentials("alice", "s3cret"), transport=httpx.MockTransport(basic))
    with pytest.raises(RegistryError, match="refused the login as 'alice'"):
        client.check()
    secret_b64 = base64.b64encode(b"alice:s3cret").decode()
    assert seen == [None, f"Basic {secret_b64}"]
    assert "s3cret" not in caplog.text and secret_b64 not in caplog.text


def test_no_password_or_token_in_logs_during_a_push(caplog):
    caplog.set_level(logging.DEBUG)
    client = RegistryClient(
        "reg.example", credentials=Credentials("u", "pa55word"), transport=httpx.MockTransport(FakeRegistry())
    )
    client.push("team/app", _image(), ["v1"])
    assert "pa55word" not in caplog.text and base64.b64encode(b"u:pa55word").decode() not in caplog.text
    assert "Bearer T" not in caplog.text


def test_parse_repository():
    assert str(parse_repository("10.231.0.1:5000/hello")) == "10.231.0.1:5000/hello"
    assert parse_repository("acme/app").registry == "registry-1.docker.io"
    assert parse_repository("app").path == "library/app"
    for bad in ("reg:5000/App", "reg:5000/app:tag", "reg/app@sha256:00"):
        with pytest.raises(ValueError, match=f"^{re.escape(repr(bad))}: "):
            parse_repository(bad)


# Stored logins ----------------------------------------------------------------------------


def test_store_writes_auths_0600_and_keeps_other_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("GOSHIP_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("GOSHIP_REGISTRY_PASSWORD", raising=False)
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"other:5000": {"auth": "eDp5"}}, "psFormat": "x"}))
    where = credentials.store("reg:5000", Credentials("alice", "pw:with:colons"))
    path = tmp_path / "config.json"
    assert where == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = json.loads(path.read_text())
    assert config["psFormat"] == "x" and config["auths"]["other:5000"] == {"auth": "eDp5"}
    assert credentials.lookup("reg:5000") == Credentials("alice", "pw:with:colons")
    assert credentials.erase("reg:5000") is True
    assert credentials.lookup("reg:5000") is None and credentials.erase("reg:5000") is False


def test_store_goes_through_the_credential_helper(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("GOSHIP_REGISTRY_PASSWORD", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(f"#!/bin/sh\ncat > {tmp_path}/helper-$1\n[ \"$1\" = get ] && cat {tmp_path}/stored\nexit 0\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "fake"}))
    assert credentials.store("reg:5000", Credentials("alice", "s3cret")) == "docker-credential-fake"
    sent = json.loads((tmp_path / "helper-store").read_text())
    assert sent == {"ServerURL": "reg:5000", "Username": "alice", "Secret": "s3cret"}
    config_text = (tmp_path / "config.json").read_text()
    assert "s3cret" not in config_text and json.loads(config_text)["auths"] == {"reg:5000": {}}
    (tmp_path / "stored").write_text(json.dumps({"Username": "alice", "Secret": "s3cret"}))
    assert credentials.lookup("reg:5000") == Credentials("alice", "s3cret")
