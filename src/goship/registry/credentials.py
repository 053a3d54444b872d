"""Registry credentials, looked up the way docker does, never printed.

Order: GOSHIP_REGISTRY_USERNAME/PASSWORD (CI), then the docker config
(``$DOCKER_CONFIG/config.json``, default ``~/.docker/config.json``):
``credHelpers`` for the registry, ``credsStore``, then ``auths``.
``store``/``erase`` write logins there the way ``docker login`` does.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from goship import process
from goship.errors import ProcessError, RegistryError
from goship.images.reference import DOCKER_HUB


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)  # never in a repr, a log or an error


def docker_config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG")
    return (Path(directory) if directory else Path.home() / ".docker") / "config.json"


def _hub_keys(registry: str) -> list[str]:
    if registry == DOCKER_HUB:
        return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", registry]
    # docker login has written each of these forms over the years.
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/"]


#: How long a credential helper may take (one that waits for a locked keychain never answers).
HELPER_TIMEOUT = 30.0


def _helper(helper: str, action: str, payload: str) -> process.Completed:
    """Run ``docker-credential-<helper> <action>`` with ``payload`` on stdin."""
    program = f"docker-credential-{helper}"
    if process.find_program(program) is None:
        raise RegistryError(
            f"docker config names credential helper '{helper}', but {program} is not on PATH",
            hint="install the helper, or remove it from the docker config.json",
        )
    try:
        return process.run([program, action], input=payload, timeout=HELPER_TIMEOUT, check=False)
    except ProcessError as exc:
        if exc.timed_out:
            raise RegistryError(
                f"{program} {action} did not answer within {HELPER_TIMEOUT:g}s",
                hint="unlock the keychain or credential store it uses, or remove the helper from the docker config",
            ) from None
        raise RegistryError(f"cannot run {program}: {exc.message}") from None


def _from_helper(helper: str, registry: str) -> Credentials | None:
    proc = _helper(helper, "get", registry)
    if proc.returncode != 0:
        return None  # "credentials not found in native keychain"
    try:
        data = json.loads(proc.text)
        return Credentials(str(data.get("Username", "")), str(data.get("Secret", "")))
    except (ValueError, AttributeError):
        raise RegistryError(
            f"docker-credential-{helper} get answered something that is not its JSON for {registry}",
            hint=f"check the helper by hand: echo {registry} | docker-credential-{helper} get",
        ) from None


def lookup(registry: str, username: str | None = None) -> Credentials | None:
    env_user = os.environ.get("GOSHIP_REGISTRY_USERNAME") or username
    env_password = os.environ.get("GOSHIP_REGISTRY_PASSWORD")
    if env_user and env_password is not None:
        return Credentials(env_user, env_password)
    path = docker_config_path()
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from None
    keys = _hub_keys(registry)
    helpers = config.get("credHelpers", {})
    for key in keys:
        if key in helpers:
            return _from_helper(helpers[key], key)
    auths = config.get("auths", {})
    if config.get("credsStore"):
        for key in keys:
            found = _from_helper(config["credsStore"], key)
            if found:
                return found
    for key in keys:
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"], validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise RegistryError(
                    f"{path}: auths.{key}.auth is not base64 of user:password",
                    hint=f"run 'goship login {registry}' (or docker login) again, or remove that entry",
                ) from None
            return Credentials(user, password)
        if entry.get("username") and entry.get("password") is not None:
            return Credentials(str(entry["username"]), str(entry["password"]))
    return None


# Storing (goship login / logout) ---------------------------------------------


def config_key(registry: str) -> str:
    """The key docker uses for ``registry`` in config.json and credential helpers."""
    return "https://index.docker.io/v1/" if registry == DOCKER_HUB else registry


def _read_config(path: Path) -> dict[str, object]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from None
    if not isinstance(config, dict):
        raise RegistryError(f"cannot read {path}: not a JSON object")
    return config


def _write_config(path: Path, config: dict[str, object]) -> None:
    """Replace config.json atomically, readable by its owner only (it may hold passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(config, out, indent="\t")
            out.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _helper_for(config: dict[str, object], key: str) -> str | None:
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict) and helpers.get(key):
        return str(helpers[key])
    store = config.get("credsStore")
    return str(store) if store else None


def _run_helper(helper: str, action: str, payload: str) -> None:
    proc = _helper(helper, action, payload)
    if proc.returncode != 0:
        # The helper's output never echoes the secret it was given; keep it short anyway.
        reason = (proc.text + proc.err).strip().splitlines()[:1]
        raise RegistryError(
            f"docker-credential-{helper} {action} failed" + (f": {reason[0][:200]}" if reason else "")
        )


def store(registry: str, credentials: Credentials) -> str:
    """Save a login the way ``docker login`` does; return where it went.

    With a ``credHelpers`` entry for the registry or a ``credsStore``, the
    helper keeps the secret (``docker-credential-<helper> store``) and
    config.json only lists the registry; otherwise ``auths`` holds
    base64(user:password) in a 0600 file. Other keys are preserved.
    """
    path = docker_config_path()
    config = _read_config(path)
    key = config_key(registry)
    helper = _helper_for(config, key)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    if helper:
        payload = json.dumps({"ServerURL": key, "Username": credentials.username, "Secret": credentials.password})
        _run_helper(helper, "store", payload)
        auths[key] = {}
        where = f"docker-credential-{helper}"
    else:
        raw = f"{credentials.username}:{credentials.password}".encode()
        auths[key] = {"auth": base64.b64encode(raw).decode("ascii")}
        where = str(path)
    config["auths"] = auths
    _write_config(path, config)
    return where


def erase(registry: str) -> bool:
    """Forget the stored login for ``registry``; False when there was none."""
    path = docker_config_path()
    config = _read_config(path)
    key = config_key(registry)
    helper = _helper_for(config, key)
    found = False
    if helper:
        try:
            _run_helper(helper, "erase", key)
            found = True
        except RegistryError:
            pass  # "credentials not found"
    auths = config.get("auths")
    if isinstance(auths, dict):
        for candidate in _hub_keys(registry):
            if candidate in auths:
                del auths[candidate]
                found = True
    if found and path.exists():
        _write_config(path, config)
    return found
