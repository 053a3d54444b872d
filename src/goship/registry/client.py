"""An OCI distribution client: the one place goship talks HTTP to registries.

Push = for each blob, HEAD to see if the registry has it, else POST an
upload session and PUT the bytes with their digest; then PUT the manifest
and check the digest the registry reports. Blobs go before the manifest,
so an interrupted push never leaves a manifest pointing at a missing blob.

Authentication follows the registry's ``WWW-Authenticate`` challenge:
Basic, or Bearer (fetch a token from the realm for the scope). TLS is
verified unless the registry is configured ``insecure`` (plain HTTP).
"""

from __future__ import annotations

import base64
import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from goship.build.oci import Blob, Image
from goship.errors import RegistryError
from goship.registry.credentials import Credentials

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_RETRIES = 4


@dataclass(frozen=True)
class PushResult:
    reference: str  # repository@digest
    digest: str
    uploaded_bytes: int
    uploaded_blobs: int
    skipped_blobs: int


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
    ) -> None:
        self.registry = registry
        self.base = f"{'http' if insecure else 'https'}://{registry}"
        self.credentials = credentials
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise RegistryError(f"registry.ca_file {ca_file}: cannot load: {exc}") from None
        self._http = httpx.Client(
            verify=verify, transport=transport, timeout=timeout, follow_redirects=True
        )
        self._auth_header: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Transport, retries, auth ----------------------------------------------

    def _send(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, content: bytes | None = None
    ) -> httpx.Response:
        """One request with retries on dropped connections and 5xx answers."""
        delay = 0.5
        for attempt in range(_RETRIES):
            sent_headers = dict(headers or {})
            if self._auth_header:
                sent_headers["Authorization"] = self._auth_header
            last = attempt == _RETRIES - 1
            try:
                response = self._http.request(method, url, headers=sent_headers, content=content)
            except httpx.ConnectError as exc:
                if _is_tls_error(exc):
                    raise RegistryError(
                        f"TLS certificate of registry {self.registry} is not trusted: {_reason(exc)}",
                        hint="set registry.ca_file to the registry's CA certificate"
                        " (or registry.insecure: true for a plain-HTTP test registry)",
                    ) from None
                if last:
                    raise RegistryError(
                        f"cannot reach registry {self.registry}: {_reason(exc)}",
                        hint="check the address in 'image' and that the registry is running",
                    ) from None
            except httpx.TransportError as exc:
                if last:
                    raise RegistryError(f"registry {self.registry}: {method} failed: {_reason(exc)}") from None
            else:
                if response.status_code < 500 or last:
                    return response
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def request(
        self,
        method: str,
        url: str,
        scope: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        response = self._send(method, url, headers=headers, content=content)
        if response.status_code == 401:
            self._authenticate(response, scope)
            response = self._send(method, url, headers=headers, content=content)
            if response.status_code == 401:
                who = f"as '{self.credentials.username}'" if self.credentials else "without credentials"
                raise RegistryError(
                    f"registry {self.registry} refused the login {who}",
                    hint="check the user name and password (docker login, "
                    "or GOSHIP_REGISTRY_USERNAME/GOSHIP_REGISTRY_PASSWORD)",
                )
        return response

    def _authenticate(self, response: httpx.Response, scope: str) -> None:
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme, _, params_text = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        if scheme.lower() == "basic":
            if not self.credentials:
                raise RegistryError(
                    f"registry {self.registry} needs a login",
                    hint="run 'docker login', or set GOSHIP_REGISTRY_USERNAME/PASSWORD",
                )
            self._auth_header = _basic(self.credentials)
            return
        if scheme.lower() != "bearer" or "realm" not in params:
            raise RegistryError(f"registry {self.registry} asks for unsupported authentication {scheme!r}")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        headers = {"Authorization": _basic(self.credentials)} if self.credentials else {}
        try:
            token_response = self._http.get(params["realm"], params=query, headers=headers)
        except httpx.TransportError as exc:
            raise RegistryError(f"token service of {self.registry} unreachable: {_reason(exc)}") from None
        if token_response.status_code != 200:
            raise RegistryError(
                f"registry {self.registry} refused a token (HTTP {token_response.status_code})",
                hint="check the credentials and that they may push to this repository",
            )
        body = token_response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"token service of {self.registry} returned no token")
        self._auth_header = f"Bearer {token}"

    # Registry operations ----------------------------------------------------

    def _url(self, repository: str, tail: str) -> str:
        return f"{self.base}/v2/{repository}/{tail}"

    def check(self) -> None:
        """Probe ``/v2/`` so a wrong address fails before any upload."""
        response = self.request("GET", f"{self.base}/v2/", scope="")
        if response.status_code != 200:
            raise RegistryError(f"registry {self.registry} answered HTTP {response.status_code} to /v2/")

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self.request(
            "HEAD", self._url(repository, f"blobs/{digest}"), scope=f"repository:{repository}:pull,push"
        )
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._error("check blob", response)

    def upload_blob(self, repository: str, blob: Blob) -> None:
        scope = f"repository:{repository}:pull,push"
        start = self.request("POST", self._url(repository, "blobs/uploads/"), scope=scope)
        if start.status_code != 202 or "Location" not in start.headers:
            raise self._error("start upload", start)
        location = urljoin(f"{self.base}/", start.headers["Location"])
        separator = "&" if "?" in location else "?"
        done = self.request(
            "PUT",
            f"{location}{separator}digest={blob.digest}",
            scope=scope,
            content=blob.data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if done.status_code != 201:
            raise self._error(f"upload blob {blob.digest[:19]}", done)

    def put_manifest(self, repository: str, reference: str, manifest: Blob) -> str:
        response = self.request(
            "PUT",
            self._url(repository, f"manifests/{reference}"),
            scope=f"repository:{repository}:pull,push",
            content=manifest.data,
            headers={"Content-Type": manifest.media_type},
        )
        if response.status_code != 201:
            raise self._error(f"put manifest {reference}", response)
        returned = response.headers.get("Docker-Content-Digest", manifest.digest)
        if returned != manifest.digest:
            raise RegistryError(
                f"registry {self.registry} stored manifest {returned}, expected {manifest.digest}"
            )
        return manifest.digest

    def push(self, repository: str, image: Image, tags: list[str]) -> PushResult:
        """Upload what the registry lacks, then tag the manifest."""
        uploaded = uploaded_bytes = skipped = 0
        for blob in image.blobs:
            if self.blob_exists(repository, blob.digest):
                skipped += 1
                continue
            self.upload_blob(repository, blob)
            uploaded += 1
            uploaded_bytes += blob.size
        digest = self.put_manifest(repository, image.digest, image.manifest)
        for tag in tags:
            self.put_manifest(repository, tag, image.manifest)
        return PushResult(f"{self.registry}/{repository}@{digest}", digest, uploaded_bytes, uploaded, skipped)

    def _error(self, action: str, response: httpx.Response) -> RegistryError:
        detail = ""
        try:
            errors = response.json().get("errors", [])
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        except ValueError:
            detail = response.text[:200].strip()
        hint = None
        if response.status_code == 403:
            hint = "the account may not push to this repository"
        elif response.status_code >= 500:
            hint = "the registry is failing; retry later or check its logs"
        return RegistryError(
            f"registry {self.registry} refused to {action}: HTTP {response.status_code}"
            + (f" ({detail})" if detail else ""),
            hint=hint,
        )


def _basic(credentials: Credentials | None) -> str:
    assert credentials is not None
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _is_tls_error(exc: Exception) -> bool:
    text = repr(exc) + repr(exc.__cause__) + repr(exc.__context__)
    return "CERTIFICATE_VERIFY_FAILED" in text or "SSLCertVerificationError" in text


def _reason(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text.splitlines()[0][:200]
