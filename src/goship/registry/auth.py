"""Registry authentication: the ``WWW-Authenticate`` challenge and its answer.

A registry answers 401 with a challenge. ``Basic`` means: send the user
and password with every request. ``Bearer realm=...,service=...,scope=...``
means: ask the realm (a token service) for a token covering the scope, with
the user and password, and send the token. Tokens are scoped, so they are
cached per scope set: a cross-repository mount needs one covering both
repositories (``repository:b:pull,push repository:a:pull``), which is a
different token from the one for plain pushes to ``b``.

The token request itself goes through a ``fetch`` callable, so this module
does no I/O and the whole flow is testable without a network. Passwords and
tokens never appear in messages, reprs or logs.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from goship.errors import RegistryError
from goship.registry.credentials import Credentials

_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_TOKEN_MARGIN_S = 10.0  # renew a little before the registry would refuse it
_DEFAULT_TOKEN_LIFETIME_S = 60.0  # the token spec's default for a missing expires_in

#: (realm, query parameters, headers) -> the token service's response
TokenFetcher = Callable[[str, list[tuple[str, str]], dict[str, str]], httpx.Response]


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic" or "bearer"
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())


def parse_challenge(header: str | None) -> Challenge | None:
    """``Bearer realm="https://auth",service="reg",scope="repository:a:pull"`` -> Challenge."""
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {
        key.lower(): (quoted.replace('\\"', '"') if quoted or not bare else bare)
        for key, quoted, bare in _PARAM.findall(rest)
    }
    return Challenge(scheme.lower(), params)


def repository_scope(repository: str, *actions: str) -> str:
    return f"repository:{repository}:{','.join(actions)}"


def merge_scopes(*groups: Iterable[str]) -> tuple[str, ...]:
    """One scope per resource with the union of its actions, sorted: a stable cache key.

    ``repository:a:pull`` + ``repository:a:push`` -> ``repository:a:pull,push``.
    """
    actions: dict[str, set[str]] = {}
    for group in groups:
        for scope in group:
            resource, _, wanted = scope.rpartition(":")
            if not resource:
                continue
            actions.setdefault(resource, set()).update(a for a in wanted.split(",") if a)
    return tuple(f"{resource}:{','.join(sorted(acts))}" for resource, acts in sorted(actions.items()))


def basic_header(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass
class _Token:
    value: str = field(repr=False)
    expires: float


class Authenticator:
    """What to send as ``Authorization`` for a scope, learned from challenges."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        fetch: TokenFetcher,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self._fetch = fetch
        self._clock = clock
        self.scheme: str | None = None  # set by the first challenge
        self._tokens: dict[tuple[str, ...], _Token] = {}
        self.token_requests = 0  # how many times the token service was asked (tests, stats)

    def header(self, scopes: Iterable[str]) -> str | None:
        """The Authorization value for a request needing ``scopes``, if one is known."""
        if self.scheme == "basic" and self.credentials is not None:
            return basic_header(self.credentials)
        if self.scheme == "bearer":
            token = self._tokens.get(merge_scopes(scopes))
            if token is not None and token.expires > self._clock():
                return f"Bearer {token.value}"
        return None

    def forget(self, scopes: Iterable[str]) -> None:
        self._tokens.pop(merge_scopes(scopes), None)

    def answer(self, challenge_header: str | None, scopes: Iterable[str]) -> None:
        """Learn from a 401's challenge: remember Basic, or fetch a Bearer token."""
        challenge = parse_challenge(challenge_header)
        if challenge is None:
            raise RegistryError(f"registry {self.registry} answered 401 without a WWW-Authenticate challenge")
        scopes = tuple(scopes)
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise self._needs_login()
            self.scheme = "basic"
            return
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise RegistryError(
                f"registry {self.registry} asks for unsupported authentication {challenge.scheme!r}"
            )
        self.scheme = "bearer"
        realm = challenge.params["realm"]
        if self.credentials is not None:
            self._check_realm(realm)
        wanted = merge_scopes(scopes, challenge.scopes)
        query = [("service", challenge.params["service"])] if "service" in challenge.params else []
        query += [("scope", scope) for scope in wanted]
        headers = {"Authorization": basic_header(self.credentials)} if self.credentials else {}
        self.token_requests += 1
        response = self._fetch(realm, query, headers)
        if response.status_code in (401, 403):
            raise self._refused() if self.credentials else self._needs_login()
        if response.status_code != 200:
            raise RegistryError(
                f"token service of registry {self.registry} answered HTTP {response.status_code}",
                hint="the registry's authentication service is failing; retry later",
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        value = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not value:
            raise RegistryError(f"token service of registry {self.registry} returned no token")
        lifetime = body.get("expires_in") or _DEFAULT_TOKEN_LIFETIME_S
        try:
            lifetime = float(lifetime)
        except (TypeError, ValueError):
            lifetime = _DEFAULT_TOKEN_LIFETIME_S
        token = _Token(str(value), self._clock() + max(lifetime - _TOKEN_MARGIN_S, 1.0))
        self._tokens[merge_scopes(scopes)] = token
        if wanted != merge_scopes(scopes):
            self._tokens[wanted] = token

    def _check_realm(self, realm: str) -> None:
        """Send the password only to a token service over HTTPS, or over plain HTTP only
        on the registry's own host (a test registry): never to another host in clear text."""
        parts = urlsplit(realm)
        registry_host = urlsplit(f"//{self.registry}").hostname
        if parts.scheme == "https":
            return
        if parts.scheme == "http" and parts.hostname and parts.hostname == registry_host:
            return
        raise RegistryError(
            f"registry {self.registry} sends logins to {realm}, which is not HTTPS on another host: "
            "goship does not send the password there",
            hint="serve the registry's token service over HTTPS (or on the registry's own host)",
        )

    def refused(self, scopes: Iterable[str]) -> RegistryError:
        """The error for a request still answered 401 after authenticating."""
        if self.scheme == "bearer" and self.credentials is not None:
            return RegistryError(
                f"registry {self.registry} denied '{self.credentials.username}' access to "
                + (" ".join(merge_scopes(scopes)) or "the registry"),
                hint="check that the account may pull/push this repository",
            )
        return self._refused() if self.credentials else self._needs_login()

    def _refused(self) -> RegistryError:
        assert self.credentials is not None
        return RegistryError(
            f"registry {self.registry} refused the login as '{self.credentials.username}'",
            hint="check the user name and password (goship login, docker login, "
            "or GOSHIP_REGISTRY_USERNAME/GOSHIP_REGISTRY_PASSWORD)",
        )

    def _needs_login(self) -> RegistryError:
        return RegistryError(
            f"registry {self.registry} needs a login",
            hint="run 'goship login' (or docker login), or set GOSHIP_REGISTRY_USERNAME/GOSHIP_REGISTRY_PASSWORD",
        )
