"""Secret values for the app: named in goship.yaml, read at deploy time.

Values come from the deployer's environment (CI secrets) or an env file
beside goship.yaml; they are passed to the container on stdin and never
printed, stored in release records or put on a command line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from goship.errors import ConfigError

_SECRET_WORDS = {"PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "SECRET", "KEY", "APIKEY", "CREDENTIALS", "PRIVATE", "DSN"}
_NOT_SECRET_WORDS = {"PUBLIC", "FILE", "PATH", "ID", "NAME", "DIR", "URL", "TYPE", "SIZE", "ALG", "ALGORITHM"}


def is_secret_name(name: str) -> bool:
    """DB_PASSWORD, GITHUB_TOKEN, API_KEY, JWT_SECRET - but not PUBLIC_KEY, SSH_KEY_FILE, KEY_ID."""
    words = set(re.split(r"[_\-.]+", name.upper()))
    if words & _NOT_SECRET_WORDS:
        return False
    return bool(words & _SECRET_WORDS) or any(w.endswith(("PASSWORD", "TOKEN", "SECRET", "APIKEY")) for w in words)


def parse_env_file(text: str, source: str) -> dict[str, str]:
    """``KEY=value`` lines; ``#`` comments, ``export``, and quotes are understood."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise ConfigError(f"{source}:{number}: expected KEY=value", hint="one variable per line")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def resolve(
    names: list[str], env_file: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The value of each secret name; the environment wins over the file."""
    environ = os.environ if environ is None else environ
    from_file: dict[str, str] = {}
    if env_file is not None:
        try:
            from_file = parse_env_file(env_file.read_text(encoding="utf-8-sig"), str(env_file))
        except FileNotFoundError:
            raise ConfigError(f"app.env_file: {env_file} does not exist") from None
    values = {}
    missing = []
    for name in names:
        if name in environ:
            values[name] = environ[name]
        elif name in from_file:
            values[name] = from_file[name]
        else:
            missing.append(name)
    if missing:
        raise ConfigError(
            f"app.secrets: {', '.join(missing)} not set",
            hint="export them in the environment"
            + (f" or add them to {env_file}" if env_file else " or name an env file in app.env_file"),
        )
    return values
