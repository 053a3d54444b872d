"""An OCI distribution registry in memory, served through ``httpx.MockTransport``.

``RegistryClient`` takes any httpx transport, so a test hands it this one::

    fake = FakeRegistry()
    client = RegistryClient(
        "reg.example", credentials=Credentials("u", "p"), transport=httpx.MockTransport(fake)
    )
    client.push("team/app", image, ["v1"])
    assert fake.manifest("team/app", "v1") == image.manifest.data

It answers what goship sends, per repository: blob ``HEAD``/``GET``;
uploads monolithic (``POST`` then ``PUT ?digest=``, or ``POST ?digest=``
with the bytes) and chunked (``PATCH`` with ``Content-Range``, the session's
state by ``GET``, ``DELETE`` to give it up); cross-repository mounts
(``POST ?mount=&from=``); manifests by tag or digest (``PUT``, ``GET``,
``HEAD``, their blobs or child manifests checked); ``tags/list`` with
``Link`` pagination. It has no referrers API (``GET .../referrers/`` is a
404), so SBOMs are found through the ``sha256-<hex>`` fallback tag.

Authentication is Bearer tokens by default (a token service at
``auth.example`` hands out ``T``; ``token_scopes`` records what each token
was asked for), or Basic, or none. ``requests`` lists the requests that got
past it. ``faults`` scripts failures per kind of request: "drop" (no answer,
nothing done), "drop_after" (done, then no answer), a status code (nothing
done), an ``httpx.Response`` (sent as is, nothing done), or None (answered
normally); each request of that kind takes the next one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import httpx

from goship.images.oci import MEDIA_INDEX, MEDIA_MANIFEST, sha256_digest

TOKEN_HOST = "auth.example"
CHALLENGE = f'Bearer realm="https://{TOKEN_HOST}/token",service="reg"'
TOKEN = "T"

Fault = Literal["drop", "drop_after"] | int | httpx.Response | None
#: The kinds ``faults`` are keyed by.
KINDS = (
    "root", "head", "get", "post", "patch", "put_blob", "get_upload", "delete_upload",
    "put_manifest", "get_manifest", "head_manifest", "tags", "referrers",
)


class Seen(NamedTuple):
    """One request that got past authentication."""

    method: str
    path: str
    headers: dict[str, str]
    params: httpx.QueryParams


@dataclass
class FakeRepository:
    """What one repository holds: blob digests (the bytes are in ``FakeRegistry.blobs``),
    manifests by digest with their media types, and tags."""

    blobs: set[str] = field(default_factory=set)
    manifests: dict[str, bytes] = field(default_factory=dict)
    media_types: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Upload:
    repository: str
    data: bytearray = field(default_factory=bytearray)


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message}]})


def _split(path: str) -> tuple[str, str, str] | None:
    """``/v2/team/app/blobs/uploads/u1`` -> ("team/app", "blobs/uploads", "u1")."""
    if not path.startswith("/v2/"):
        return None
    rest = path[len("/v2/") :]
    for section in ("/blobs/uploads/", "/blobs/", "/manifests/", "/referrers/", "/tags/"):
        repository, found, tail = rest.partition(section)
        if found:
            return repository, section.strip("/"), tail
    return None


class FakeRegistry:
    """An OCI registry in memory; call it with an ``httpx.Request`` (or hand it to ``httpx.MockTransport``).

    ``have``: digests every repository already holds (their bytes unknown);
    ``mountable``: digests a cross-repository mount finds whatever the source
    repository (a mount from a repository that holds the blob works too);
    ``add_blob`` and ``add_manifest`` put in what a test starts from.
    ``auth``: "bearer" (a token service), "basic", or None; with
    ``credentials`` only that user and password get in.
    """

    def __init__(
        self,
        have: Iterable[str] = (),
        faults: Mapping[str, Sequence[Fault]] | None = None,
        mountable: Iterable[str] = (),
        auth: Literal["bearer", "basic"] | None = "bearer",
        credentials: tuple[str, str] | None = None,
    ) -> None:
        unknown = set(faults or ()) - set(KINDS)
        if unknown:
            raise ValueError(f"no such kind of request: {sorted(unknown)} (kinds: {', '.join(KINDS)})")
        #: Blob bytes by digest, for every repository (the blobs of ``have`` are b"").
        self.blobs: dict[str, bytes] = dict.fromkeys(have, b"")
        self.everywhere = set(have)
        self.repositories: dict[str, FakeRepository] = {}
        self.mountable = set(mountable)
        self.faults = {kind: list(actions) for kind, actions in (faults or {}).items()}
        self.auth = auth
        self.credentials = credentials
        self.requests: list[Seen] = []
        self.token_scopes: list[list[str]] = []
        self.uploads: dict[str, _Upload] = {}
        self._next_upload = 0

    # Setting up and looking in ----------------------------------------------

    def repository(self, name: str) -> FakeRepository:
        """The repository ``name`` (created empty on first use, as a push would)."""
        return self.repositories.setdefault(name, FakeRepository())

    def add_blob(self, repository: str, data: bytes) -> str:
        """Put ``data`` in ``repository`` as if pushed; returns its digest."""
        digest = sha256_digest(data)
        self.blobs[digest] = data
        self.repository(repository).blobs.add(digest)
        return digest

    def add_manifest(self, repository: str, data: bytes, media_type: str = MEDIA_MANIFEST, tags: Iterable[str] = ()) -> str:
        """Put a manifest (blobs not checked) in ``repository`` under ``tags``; returns its digest."""
        digest = sha256_digest(data)
        repo = self.repository(repository)
        repo.manifests[digest] = data
        repo.media_types[digest] = media_type
        for tag in tags:
            repo.tags[tag] = digest
        return digest

    def manifest(self, repository: str, reference: str) -> bytes | None:
        """The manifest a tag or digest names in ``repository``; None when there is none."""
        repo = self.repositories.get(repository)
        if repo is None:
            return None
        return repo.manifests.get(repo.tags.get(reference, reference))

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether ``repository`` holds blob ``digest`` (pushed, mounted, or in ``have``)."""
        repo = self.repositories.get(repository)
        return digest in self.everywhere or (repo is not None and digest in repo.blobs)

    def count(self, method: str, fragment: str = "") -> int:
        """How many requests of ``method`` whose path holds ``fragment`` got past authentication."""
        return sum(1 for seen in self.requests if seen.method == method and fragment in seen.path)

    # The transport ------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == TOKEN_HOST:
            return self._token(request)
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.requests.append(Seen(request.method, request.url.path, dict(request.headers), request.url.params))
        where = _split(request.url.path)
        kind = self._kind(request.method, where)
        action = self.faults.get(kind, []).pop(0) if self.faults.get(kind) else None
        if action == "drop":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if isinstance(action, httpx.Response):
            return action
        if isinstance(action, int):
            return httpx.Response(action, text="injected")
        response = self._handle(request, where) if where else self._root(request)
        if action == "drop_after":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return response

    def _basic_ok(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        if self.credentials is None:
            return True
        try:
            decoded = base64.b64decode(header[len("Basic ") :], validate=True).decode("utf-8", "replace")
        except ValueError:
            return False
        user, _, password = decoded.partition(":")
        return (user, password) == self.credentials

    def _token(self, request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Authorization", "")
        if (header or self.credentials is not None) and not self._basic_ok(header):
            return httpx.Response(401)
        self.token_scopes.append(request.url.params.get_list("scope"))
        return httpx.Response(200, json={"token": TOKEN, "expires_in": 300})

    def _refused(self, request: httpx.Request) -> httpx.Response | None:
        header = request.headers.get("Authorization", "")
        if self.auth == "bearer" and header != f"Bearer {TOKEN}":
            return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})
        if self.auth == "basic" and not self._basic_ok(header):
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="fake registry"'})
        return None

    @staticmethod
    def _kind(method: str, where: tuple[str, str, str] | None) -> str:
        if where is None:
            return "root"
        section = where[1]
        if section == "blobs/uploads":
            return {"POST": "post", "PATCH": "patch", "PUT": "put_blob", "GET": "get_upload"}.get(
                method, f"{method.lower()}_upload"
            )
        if section == "manifests":
            return f"{method.lower()}_manifest"
        if section == "blobs":
            return method.lower()
        return section

    def _root(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={}) if request.url.path == "/v2/" else httpx.Response(404)

    def _handle(self, request: httpx.Request, where: tuple[str, str, str]) -> httpx.Response:
        name, section, tail = where
        method = request.method
        if section == "blobs":
            return self._blob(method, name, tail)
        if section == "blobs/uploads":
            return self._upload(request, name, tail)
        if section == "manifests":
            return self._manifest(request, name, tail)
        if section == "tags" and tail == "list" and method == "GET":
            return self._tags(request, name)
        return httpx.Response(404)  # referrers: no such API here

    def _blob(self, method: str, name: str, digest: str) -> httpx.Response:
        if method not in ("GET", "HEAD"):
            return httpx.Response(405)
        if not self.has_blob(name, digest):
            return _error(404, "BLOB_UNKNOWN", f"blob {digest} unknown to {name}")
        headers = {"Docker-Content-Digest": digest}
        return httpx.Response(200, content=self.blobs[digest] if method == "GET" else b"", headers=headers)

    def _location(self, name: str, uid: str) -> dict[str, str]:
        size = len(self.uploads[uid].data)
        return {"Location": f"/v2/{name}/blobs/uploads/{uid}?_state={size}", "Range": f"0-{max(size - 1, 0)}"}

    def _store(self, name: str, data: bytes, digest: str) -> httpx.Response:
        if sha256_digest(data) != digest:
            return _error(400, "DIGEST_INVALID", "digest does not match the bytes")
        self.blobs[digest] = data
        self.repository(name).blobs.add(digest)
        return httpx.Response(201, headers={"Docker-Content-Digest": digest, "Location": f"/v2/{name}/blobs/{digest}"})

    def _upload(self, request: httpx.Request, name: str, uid: str) -> httpx.Response:
        params = request.url.params
        if request.method == "POST":
            mount, source = params.get("mount"), params.get("from")
            if mount and (mount in self.mountable or (source is not None and self.has_blob(source, mount))):
                self.blobs.setdefault(mount, b"")
                self.repository(name).blobs.add(mount)
                return httpx.Response(201, headers={"Docker-Content-Digest": mount})
            if params.get("digest") is not None and request.content:
                return self._store(name, request.content, params["digest"])
            self._next_upload += 1
            uid = f"u{self._next_upload}"
            self.uploads[uid] = _Upload(name)
            return httpx.Response(202, headers=self._location(name, uid))
        upload = self.uploads.get(uid)
        if upload is None or upload.repository != name:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", "unknown upload")
        if request.method == "GET":
            return httpx.Response(204, headers=self._location(name, uid))
        if request.method == "DELETE":
            del self.uploads[uid]
            return httpx.Response(204)
        if request.method == "PATCH":
            content_range = request.headers.get("Content-Range")
            if content_range is not None:
                first, _, last = content_range.partition("-")
                if int(first) != len(upload.data) or int(last) - int(first) + 1 != len(request.content):
                    return httpx.Response(416)
            upload.data += request.content
            return httpx.Response(202, headers=self._location(name, uid))
        if request.method == "PUT":
            del self.uploads[uid]
            return self._store(name, bytes(upload.data) + request.content, params.get("digest", ""))
        return httpx.Response(405)

    def _manifest(self, request: httpx.Request, name: str, reference: str) -> httpx.Response:
        if request.method == "PUT":
            return self._put_manifest(request, name, reference)
        if request.method not in ("GET", "HEAD"):
            return httpx.Response(405)
        repo = self.repositories.get(name)
        digest = repo.tags.get(reference, reference) if repo else reference
        data = repo.manifests.get(digest) if repo else None
        if repo is None or data is None:
            return _error(404, "MANIFEST_UNKNOWN", f"manifest {reference} unknown to {name}")
        headers = {
            "Content-Type": repo.media_types.get(digest, MEDIA_MANIFEST),
            "Docker-Content-Digest": sha256_digest(data),
        }
        return httpx.Response(200, content=data if request.method == "GET" else b"", headers=headers)

    def _put_manifest(self, request: httpx.Request, name: str, reference: str) -> httpx.Response:
        data = request.content
        digest = sha256_digest(data)
        if reference.startswith("sha256:") and reference != digest:
            return _error(400, "DIGEST_INVALID", f"manifest digest is {digest}, not {reference}")
        try:
            document: dict[str, Any] = json.loads(data)
        except ValueError:
            return _error(400, "MANIFEST_INVALID", "not JSON")
        repo = self.repository(name)
        media_type = request.headers.get("Content-Type", MEDIA_MANIFEST)
        if media_type == MEDIA_INDEX or "manifests" in document:
            missing = [m["digest"] for m in document["manifests"] if m["digest"] not in repo.manifests]
            if missing:
                return _error(400, "MANIFEST_UNKNOWN", f"index lists manifests {name} lacks: {missing}")
        else:
            wanted = [document["config"], *document.get("layers", [])]
            missing = [d["digest"] for d in wanted if not self.has_blob(name, d["digest"])]
            if missing:
                return _error(400, "MANIFEST_BLOB_UNKNOWN", f"blobs {name} lacks: {missing}")
        repo.manifests[digest] = data
        repo.media_types[digest] = media_type
        if reference != digest:
            repo.tags[reference] = digest
        return httpx.Response(201, headers={"Docker-Content-Digest": digest, "Location": f"/v2/{name}/manifests/{digest}"})

    def _tags(self, request: httpx.Request, name: str) -> httpx.Response:
        repo = self.repositories.get(name)
        if repo is None:
            return _error(404, "NAME_UNKNOWN", f"repository {name} unknown")
        tags = sorted(repo.tags)
        n = int(request.url.params.get("n", len(tags) or 1))
        last = request.url.params.get("last")
        rest = [tag for tag in tags if last is None or tag > last]
        page = rest[:n]
        headers = {}
        if len(rest) > n:
            headers["Link"] = f'</v2/{name}/tags/list?last={page[-1]}&n={n}>; rel="next"'
        return httpx.Response(200, json={"name": name, "tags": page}, headers=headers)
