"""A Docker registry token server (the ``WWW-Authenticate: Bearer`` flow).

Docker Hub, GHCR, GitLab and Harbor all answer ``401`` with a Bearer
challenge naming a realm; the client asks the realm for a JWT covering the
scope it needs, and the registry checks the token's signature and grants.
Debian's docker-registry speaks exactly that protocol (``auth: token``), so
with this small server in front of it the tests exercise the real flow.

Tokens are RS256 JWTs signed with openssl (no Python crypto dependency); the
registry trusts the key through its certificate (``rootcertbundle``) and finds
it by the ``kid`` header, the libtrust key ID Docker's registry computes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ._proc import run

SERVICE = "goship-test-registry"
ISSUER = "goship-testbed-token-server"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_der: bytes) -> str:
    """The key ID Docker's registry derives from a public key (libtrust format)."""
    encoded = base64.b32encode(hashlib.sha256(public_der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@dataclass
class User:
    password: str
    # repository pattern (fnmatch) -> allowed actions, e.g. {"team/*": {"pull", "push"}}
    grants: dict[str, set[str]]


@dataclass
class TokenServer:
    workdir: Path
    users: dict[str, User]
    host: str = "127.0.0.1"
    #: every request: (user or "", requested scopes, granted access) — what the tests assert on
    issued: list[tuple[str, list[str], list[dict[str, object]]]] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.key = self.workdir / "token.key"
        self.cert = self.workdir / "token.crt"
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
             "-out", str(self.cert), "-days", "30", "-subj", "/CN=goship test token issuer"])
        der = subprocess.run(["openssl", "rsa", "-in", str(self.key), "-pubout", "-outform", "DER"],
                             capture_output=True, check=True).stdout
        self.kid = libtrust_key_id(der)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._answer(self)

        self._http = ThreadingHTTPServer((self.host, 0), Handler)
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://{self.host}:{self.port}/token"

    def registry_auth(self) -> dict[str, object]:
        """The ``auth`` section of the registry's config.yml."""
        return {"token": {"realm": self.realm, "service": SERVICE, "issuer": ISSUER,
                          "rootcertbundle": str(self.cert)}}

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _user(self, header: str | None) -> str | None:
        """The authenticated user; '' for anonymous; None for a wrong password."""
        if not header:
            return ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        name, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
        user = self.users.get(name)
        return name if user and user.password == password else None

    def _grant(self, name: str, scopes: list[str]) -> list[dict[str, object]]:
        access = []
        user = self.users.get(name)
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            repository, _, actions = rest.rpartition(":")
            if kind != "repository" or not repository:
                continue
            allowed: set[str] = set()
            for pattern, granted in (user.grants.items() if user else ()):
                if fnmatchcase(repository, pattern):
                    allowed |= granted
            wanted = [a for a in actions.split(",") if a]
            access.append({"type": "repository", "name": repository,
                           "actions": [a for a in wanted if a in allowed or "*" in allowed]})
        return access

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlparse(request.path).query)
        name = self._user(request.headers.get("Authorization"))
        if name is None or query.get("service", [""])[0] != SERVICE:
            self.refused += 1
            request.send_response(401)
            request.send_header("Content-Type", "application/json")
            request.end_headers()
            request.wfile.write(b'{"details":"incorrect username or password"}')
            return
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        access = self._grant(name, scopes)
        self.issued.append((name, scopes, access))
        token = self._sign(name, access)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _sign(self, subject: str, access: list[dict[str, object]]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                                   input=signing_input.encode(), capture_output=True, check=True).stdout
        return f"{signing_input}.{_b64url(signature)}"
