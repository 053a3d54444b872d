"""An OCI distribution client: the one place goship talks HTTP to registries.

Push = for each blob, HEAD to see if the registry has it; else mount it from
another repository of the same registry (``mount_from``) or upload it:
monolithic (POST, then PUT with the bytes) up to ``chunk_size``, chunked
above (POST, PATCH chunks with ``Content-Range``, PUT ``?digest=``). Then PUT
the manifest and check the digest the registry reports.

Failures and what happens:

- 5xx, 429 (``Retry-After`` respected) and dropped connections are retried
  with exponential backoff and jitter (``RetryPolicy``), for requests that
  are safe to repeat (GET, HEAD, POST of a new session, manifest PUT).
- A PATCH that fails is never blindly repeated: the upload's status
  (GET on its URL) says how much the registry committed, and the upload
  resumes there; a session the registry dropped (404) restarts the blob.
- A final PUT whose answer was lost is settled by HEAD on the blob.
- The manifest goes last, and only once every blob it references was
  confirmed (HEAD 200, or a 201 carrying the right digest): an interrupted
  push never leaves a manifest pointing at a missing blob.

Authentication follows the registry's challenge (``auth.py``). TLS is
verified unless the registry is configured ``insecure`` (plain HTTP).
Downloads (``get_blob``, ``get_manifest``) verify digests.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from goship.errors import RegistryError, RegistryNotFound
from goship.images.oci import Blob, Image
from goship.images.reference import docker_name
from goship.registry import protocol
from goship.registry.auth import Authenticator, repository_scope
from goship.registry.credentials import Credentials
from goship.registry.protocol import DEFAULT_CHUNK_SIZE, RetryPolicy

MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_UPLOAD_HINT = "the registry is failing (check its logs and free disk space); retry later"


@dataclass(frozen=True)
class PushResult:
    reference: str  # repository@digest
    digest: str
    uploaded_bytes: int
    uploaded_blobs: int
    skipped_blobs: int
    mounted_blobs: int = 0


@dataclass
class TransferStats:
    """What it took: for progress reports, and for tests that prove recovery."""

    retries: int = 0  # requests repeated after a 5xx/429 or a dropped connection
    dropped: int = 0  # connections lost before an answer
    chunks: int = 0  # PATCH requests the registry accepted
    resumed: int = 0  # uploads continued from the registry's committed offset
    restarted: int = 0  # uploads started over in a new session


class _Interrupted(RegistryError):
    """A request that got no answer (connection dropped, timed out)."""


class _SessionLost(Exception):
    """The upload session is gone or unusable: start the blob over."""


@dataclass
class _Session:
    location: str | None  # absolute upload URL, None when mounted
    mounted: bool = False
    min_chunk: int = 0  # OCI-Chunk-Min-Length, if the registry asks for one


class RegistryClient:
    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        ca_file: Path | None = None,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.registry = registry
        self.base = f"{'http' if insecure else 'https'}://{registry}"
        self.credentials = credentials
        self.chunk_size = chunk_size
        self.retry = retry or RetryPolicy()
        self.stats = TransferStats()
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise RegistryError(f"registry.ca_file {ca_file}: cannot load: {exc}") from None
        self._http = httpx.Client(verify=verify, transport=transport, timeout=timeout, follow_redirects=True)
        self.auth = Authenticator(registry, credentials, self._fetch_token)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Transport, retries, auth ----------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        params: list[tuple[str, str]] | None = None,
        attempts: int | None = None,
    ) -> httpx.Response:
        """One request, repeated on 5xx/429 and dropped connections up to ``attempts``.

        The last 5xx answer is returned (the caller words the error); a
        connection that never answered raises ``_Interrupted``. The number of
        attempts made is in ``response.extensions["goship.attempts"]``.
        """
        attempts = attempts or self.retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(
                    method, url, headers=headers, content=content, params=tuple(params) if params else None
                )
            except httpx.ConnectError as exc:
                if "WRONG_VERSION_NUMBER" in repr(exc) + repr(exc.__context__):
                    # A TLS hello answered in plain HTTP: no point in retrying.
                    raise RegistryError(
                        f"registry {self.registry} answers plain HTTP, not HTTPS",
                        hint="if that is intended (a test or private network), set registry.insecure: true",
                    ) from None
                if _is_tls_error(exc):
                    raise RegistryError(
                        f"TLS certificate of registry {self.registry} is not trusted: {_reason(exc)}",
                        hint="set registry.ca_file to the registry's CA certificate"
                        " (or registry.insecure: true for a plain-HTTP test registry)",
                    ) from None
                self.stats.dropped += 1
                if attempt == attempts:
                    raise _Interrupted(
                        f"cannot reach registry {self.registry}: {_reason(exc)}",
                        hint="check the address in 'image' and that the registry is running",
                    ) from None
                wait = self.retry.delay(attempt)
            except httpx.TransportError as exc:
                self.stats.dropped += 1
                if attempt == attempts:
                    after = f" (after {attempts} attempts)" if attempts > 1 else ""
                    raise _Interrupted(
                        f"registry {self.registry}: {method} {httpx.URL(url).path} got no answer: {_reason(exc)}{after}",
                        hint="the connection to the registry keeps dropping; retry later",
                    ) from None
                wait = self.retry.delay(attempt)
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                # Redirect loops, undecodable bodies, a realm that is no URL: no retry helps.
                raise RegistryError(
                    f"registry {self.registry}: {method} {httpx.URL(url).path if '://' in url else url} failed: "
                    f"{_reason(exc) if isinstance(exc, httpx.HTTPError) else exc}",
                ) from None
            else:
                if not protocol.retryable_status(response.status_code) or attempt == attempts:
                    response.extensions["goship.attempts"] = attempt
                    return response
                wait = self.retry.delay(attempt, protocol.parse_retry_after(response.headers.get("Retry-After")))
                response.close()
            self.stats.retries += 1
            time.sleep(wait)
        raise AssertionError("unreachable")

    def request(
        self,
        method: str,
        url: str,
        scope: str | Sequence[str],
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        params: list[tuple[str, str]] | None = None,
        attempts: int | None = None,
    ) -> httpx.Response:
        """A request authenticated for ``scope`` (one scope or several), answering a 401 challenge once."""
        scopes = (scope,) if isinstance(scope, str) else tuple(scope)
        scopes = tuple(s for s in scopes if s)

        def send() -> httpx.Response:
            sent = dict(headers or {})
            authorization = self.auth.header(scopes)
            if authorization:
                sent["Authorization"] = authorization
            return self._send(method, url, headers=sent, content=content, params=params, attempts=attempts)

        response = send()
        if response.status_code == 401:
            self.auth.forget(scopes)
            self.auth.answer(response.headers.get("WWW-Authenticate"), scopes)
            response = send()
            if response.status_code == 401:
                raise self.auth.refused(scopes)
        return response

    def _fetch_token(self, realm: str, query: list[tuple[str, str]], headers: dict[str, str]) -> httpx.Response:
        try:
            return self._send("GET", realm, params=query, headers=headers)
        except _Interrupted as exc:
            raise RegistryError(f"token service of registry {self.registry} unreachable: {exc.message}") from None

    # Registry operations ----------------------------------------------------

    def _url(self, repository: str, tail: str) -> str:
        return f"{self.base}/v2/{repository}/{tail}"

    def check(self) -> None:
        """Probe ``/v2/`` (and log in, if the registry asks): a wrong address or password fails here."""
        response = self.request("GET", f"{self.base}/v2/", scope=())
        if response.status_code != 200:
            raise self._error("answer /v2/", response)

    def pull_token(self, repository: str) -> str | None:
        """A token that lets its bearer pull ``repository`` and nothing more, from the
        registry's token service; None when the registry takes Basic credentials instead."""
        scopes = (repository_scope(repository, "pull"),)
        self.request("GET", self._url(repository, "tags/list"), scope=scopes)
        header = self.auth.header(scopes)
        if header is None or not header.startswith("Bearer "):
            return None
        return header.removeprefix("Bearer ")

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self.request("HEAD", self._url(repository, f"blobs/{digest}"), scope=_push_scope(repository))
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._error("check blob", response)

    def upload_blob(self, repository: str, blob: Blob) -> None:
        """Upload ``blob`` (chunked above ``chunk_size``); return once the registry confirmed it."""
        self._upload(repository, blob, None)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Ask the registry to link ``digest`` from ``from_repository`` into ``repository``
        without uploading it; False when it cannot (the blob must then be uploaded)."""
        session = self._start(repository, mount=(digest, from_repository))
        if not session.mounted and session.location:
            self._cancel(repository, session.location)
        return session.mounted

    def put_manifest(self, repository: str, reference: str, manifest: Blob) -> str:
        response = self.request(
            "PUT",
            self._url(repository, f"manifests/{reference}"),
            scope=_push_scope(repository),
            content=manifest.data,
            headers={"Content-Type": manifest.media_type},
        )
        if response.status_code != 201:
            raise self._error(f"put manifest {reference}", response)
        returned = response.headers.get("Docker-Content-Digest", manifest.digest)
        if returned != manifest.digest:
            raise RegistryError(f"registry {self.registry} stored manifest {returned}, expected {manifest.digest}")
        return manifest.digest

    def push(
        self, repository: str, image: Image, tags: list[str], *, mount_from: Sequence[str] = ()
    ) -> PushResult:
        """Upload (or mount, from a repository in ``mount_from``) what the registry
        lacks, then put the manifest by digest and under each tag."""
        uploaded = uploaded_bytes = skipped = mounted = 0
        confirmed: set[str] = set()
        for blob in image.blobs:
            if blob.digest in confirmed:
                continue
            if self.blob_exists(repository, blob.digest):
                skipped += 1
            elif self._upload(repository, blob, [m for m in mount_from if m != repository]):
                mounted += 1
            else:
                uploaded += 1
                uploaded_bytes += blob.size
            confirmed.add(blob.digest)
        missing = [blob.digest for blob in image.blobs if blob.digest not in confirmed]
        if missing:  # a guard, not a path: _upload raises rather than return unconfirmed
            raise RegistryError(f"registry {self.registry}: blobs not confirmed, manifest not pushed: {missing}")
        digest = self.put_manifest(repository, image.digest, image.manifest)
        for tag in tags:
            self.put_manifest(repository, tag, image.manifest)
        return PushResult(
            f"{docker_name(self.registry, repository)}@{digest}", digest, uploaded_bytes, uploaded, skipped, mounted
        )

    def list_tags(self, repository: str, *, page_size: int | None = None) -> list[str]:
        """Every tag of ``repository``, following ``Link`` pagination; [] for an unknown repository."""
        url: str | None = self._url(repository, "tags/list")
        params = [("n", str(page_size))] if page_size else None
        tags: list[str] = []
        seen: set[str] = set()
        while url is not None and url not in seen:
            seen.add(url)
            response = self.request("GET", url, scope=repository_scope(repository, "pull"), params=params)
            params = None  # the next link carries n and last
            if response.status_code == 404:
                return tags
            if response.status_code != 200:
                raise self._error(f"list tags of {repository}", response)
            try:
                tags.extend(response.json().get("tags") or [])
            except (ValueError, AttributeError):
                raise RegistryError(f"registry {self.registry} sent a malformed tag list for {repository}") from None
            link = protocol.next_link(response.headers.get("Link"))
            url = protocol.absolute(self.base, link) if link else None
        return tags

    def get_manifest(
        self, repository: str, reference: str, accept: str | Sequence[str] = MANIFEST_MEDIA_TYPES
    ) -> tuple[str, bytes, str]:
        """``(media type, bytes, digest)`` of a manifest by tag or digest, digest verified.

        ``accept``: media types, as a sequence or an already joined header value.
        """
        response = self.request(
            "GET",
            self._url(repository, f"manifests/{reference}"),
            scope=repository_scope(repository, "pull"),
            headers={"Accept": accept if isinstance(accept, str) else ", ".join(accept)},
        )
        if response.status_code == 404:
            raise RegistryNotFound(f"registry {self.registry}: manifest {repository}:{reference} not found")
        if response.status_code != 200:
            raise self._error(f"get manifest {reference}", response)
        data = response.content
        expected = reference if protocol.is_digest(reference) else response.headers.get("Docker-Content-Digest")
        digest = self._verified(data, expected, f"manifest {repository}:{reference}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return media_type, data, digest

    def get_blob(self, repository: str, digest: str) -> bytes:
        """The bytes of blob ``digest``, verified against it."""
        response = self.request(
            "GET", self._url(repository, f"blobs/{digest}"), scope=repository_scope(repository, "pull")
        )
        if response.status_code == 404:
            raise RegistryNotFound(f"registry {self.registry}: blob {digest} not found in {repository}")
        if response.status_code != 200:
            raise self._error(f"get blob {digest[:19]}", response)
        self._verified(response.content, digest, f"blob {digest[:19]}")
        return response.content

    def _verified(self, data: bytes, expected: str | None, what: str) -> str:
        if not expected:
            return protocol.compute_digest(data)
        try:
            actual = protocol.verify_digest(data, expected)
        except ValueError as exc:
            raise RegistryError(f"registry {self.registry}: {what}: {exc}") from None
        if actual is not None:
            raise RegistryError(
                f"registry {self.registry} sent {what} with digest {actual}, expected {expected}",
                hint="the registry (or a proxy in between) corrupted the content",
            )
        return expected

    # Uploads ------------------------------------------------------------------

    def _start(self, repository: str, mount: tuple[str, str] | None = None) -> _Session:
        """POST a new upload session, or a mount that may fall back to one (202)."""
        scopes: list[str] = [_push_scope(repository)]
        params = None
        if mount is not None:
            digest, source = mount
            scopes.append(repository_scope(source, "pull"))
            params = [("mount", digest), ("from", source)]
        response = self.request("POST", self._url(repository, "blobs/uploads/"), scope=scopes, params=params)
        if mount is not None and response.status_code == 201:
            returned = response.headers.get("Docker-Content-Digest", mount[0])
            if returned != mount[0]:
                raise RegistryError(f"registry {self.registry} mounted {returned}, expected {mount[0]}")
            return _Session(None, mounted=True)
        if response.status_code != 202 or "Location" not in response.headers:
            raise self._error("start upload", response)
        try:
            min_chunk = int(response.headers.get("OCI-Chunk-Min-Length", "0"))
        except ValueError:
            min_chunk = 0
        return _Session(protocol.absolute(self.base, response.headers["Location"]), min_chunk=min_chunk)

    def _cancel(self, repository: str, location: str) -> None:
        """Best effort: free a session we will not use (the registry also expires them)."""
        try:
            self.request("DELETE", location, scope=_push_scope(repository), attempts=1)
        except RegistryError:
            pass

    def _upload(self, repository: str, blob: Blob, mount_from: Sequence[str] | None) -> bool:
        """Mount or upload ``blob`` until the registry confirms it; True when mounted."""
        sources = list(mount_from or ())
        restarts = 0
        while True:
            session: _Session | None = None
            while sources:
                try:
                    session = self._start(repository, mount=(blob.digest, sources.pop(0)))
                except RegistryError:  # e.g. no pull access to the source: uploading still works
                    session = None
                    continue
                if session.mounted:
                    return True
                if sources and session.location:  # try the next source with a fresh request
                    self._cancel(repository, session.location)
                    session = None
            if session is None:
                session = self._start(repository)
            assert session.location is not None
            try:
                self._write(repository, session, blob)
                return False
            except _SessionLost as lost:
                restarts += 1
                if restarts >= self.retry.attempts:
                    raise RegistryError(
                        f"registry {self.registry} failed to accept uploads: blob {blob.digest[:19]}: {lost}"
                        f" (after {restarts} attempts)",
                        hint=_UPLOAD_HINT,
                    ) from None
                self.stats.restarted += 1
                self.stats.retries += 1
                time.sleep(self.retry.delay(restarts))

    def _write(self, repository: str, session: _Session, blob: Blob) -> None:
        """Send the bytes into ``session`` and commit with the digest; raise _SessionLost to restart."""
        assert session.location is not None
        location = session.location
        chunk = max(self.chunk_size, session.min_chunk)
        offset = 0
        stalls = 0  # consecutive failures without progress
        if blob.size > chunk:
            while offset < blob.size:
                last = min(offset + chunk, blob.size) - 1
                response = self._try(
                    repository,
                    "PATCH",
                    location,
                    content=blob.data[offset : last + 1],
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": protocol.content_range(offset, last),
                    },
                )
                if response is not None and response.status_code == 202 and "Location" in response.headers:
                    self.stats.chunks += 1
                    location = protocol.absolute(self.base, response.headers["Location"])
                    offset = last + 1
                    stalls = 0
                    continue
                if response is not None and response.status_code == 404:
                    raise _SessionLost("the registry dropped the upload session")
                if response is not None and response.status_code not in (416,) and response.status_code < 500:
                    raise self._error(f"upload blob {blob.digest[:19]}", response)
                stalls += 1
                self._give_up_after(stalls, response, blob)
                time.sleep(self.retry.delay(stalls))
                location, offset = self._status(repository, location)
                self.stats.resumed += 1
        body = b"" if blob.size > chunk else blob.data
        while True:
            response = self._try(
                repository,
                "PUT",
                protocol.with_digest(location, blob.digest),
                content=body,
                headers={"Content-Type": "application/octet-stream"},
            )
            if response is not None and response.status_code == 201:
                returned = response.headers.get("Docker-Content-Digest", blob.digest)
                if returned != blob.digest:
                    raise RegistryError(f"registry {self.registry} stored blob {returned}, expected {blob.digest}")
                return
            if response is not None and response.status_code < 500 and response.status_code not in (404, 416):
                raise self._error(f"upload blob {blob.digest[:19]}", response)
            # No answer, or the session is gone: did the commit happen anyway?
            if self.blob_exists(repository, blob.digest):
                return
            if body:  # a monolithic upload: its session is spent, start over
                raise _SessionLost(_describe(response))
            stalls += 1
            self._give_up_after(stalls, response, blob)
            time.sleep(self.retry.delay(stalls))
            location, offset = self._status(repository, location)
            if offset != blob.size:  # the session lost data: start over rather than guess
                raise _SessionLost(f"the session holds {offset} of {blob.size} bytes")

    def _try(self, repository: str, method: str, url: str, **kwargs: object) -> httpx.Response | None:
        """One attempt of a request that must not be repeated blindly: None when no answer came."""
        try:
            return self.request(method, url, scope=_push_scope(repository), attempts=1, **kwargs)  # type: ignore[arg-type]
        except _Interrupted:
            return None

    def _status(self, repository: str, location: str) -> tuple[str, int]:
        """Where the registry stands on an upload: (its current URL, next offset)."""
        response = self.request("GET", location, scope=_push_scope(repository))
        if response.status_code in (404, 400):
            raise _SessionLost("the registry dropped the upload session")
        if response.status_code != 204:
            raise self._error("get upload status", response)
        try:
            offset = protocol.committed_offset(response.headers.get("Range"))
        except ValueError as exc:
            raise _SessionLost(str(exc)) from None
        return protocol.absolute(self.base, response.headers.get("Location", location)), offset

    def _give_up_after(self, failures: int, response: httpx.Response | None, blob: Blob) -> None:
        if failures >= self.retry.attempts:
            raise RegistryError(
                f"registry {self.registry} failed to accept uploads: blob {blob.digest[:19]}: "
                f"{_describe(response)} (after {failures} attempts)",
                hint=_UPLOAD_HINT,
            )
        self.stats.retries += 1

    def _error(self, action: str, response: httpx.Response) -> RegistryError:
        detail = _detail(response)
        attempts = int(response.extensions.get("goship.attempts", 1))
        after = f" (after {attempts} attempts)" if attempts > 1 else ""
        if response.status_code >= 500 and ("upload" in action):
            return RegistryError(
                f"registry {self.registry} failed to accept uploads: HTTP {response.status_code}"
                + (f" ({detail})" if detail else "")
                + after,
                hint=_UPLOAD_HINT,
            )
        hint = None
        if response.status_code == 403:
            hint = "the account may not push to this repository"
        elif response.status_code >= 500 or response.status_code == 429:
            hint = "the registry is failing; retry later or check its logs"
        return RegistryError(
            f"registry {self.registry} refused to {action}: HTTP {response.status_code}"
            + (f" ({detail})" if detail else "")
            + after,
            hint=hint,
        )


def _push_scope(repository: str) -> str:
    return repository_scope(repository, "pull", "push")


def _detail(response: httpx.Response) -> str:
    try:
        response.read()
        errors = response.json().get("errors", [])
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except (ValueError, AttributeError, httpx.HTTPError):
        return response.text[:200].strip() if response.text else ""


def _describe(response: httpx.Response | None) -> str:
    if response is None:
        return "the connection dropped"
    detail = _detail(response)
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")


def _is_tls_error(exc: Exception) -> bool:
    text = repr(exc) + repr(exc.__cause__) + repr(exc.__context__)
    return "CERTIFICATE_VERIFY_FAILED" in text or "SSLCertVerificationError" in text


def _reason(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text.splitlines()[0][:200]

