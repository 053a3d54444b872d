"""Parsers of the values goship.yaml holds that mean more than their text.

Pure and shared: the validator checks a value with the same function that
later turns it into what the engine or ssh is given, so a value that loads
is a value that works.
"""

from __future__ import annotations

import re

#: The platforms goship builds for (Linux: the images run in Linux containers).
SUPPORTED_PLATFORMS = (
    "linux/amd64",
    "linux/amd64/v2",
    "linux/amd64/v3",
    "linux/arm64",
    "linux/arm64/v8",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
)

_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def memory_bytes(text: str) -> int:
    """``256m`` -> 268435456, as ``docker run --memory`` reads it (binary units).

    Raises ValueError for anything else, and for less than the 6 MiB an
    engine accepts.
    """
    match = _MEMORY.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size like 256m or 1g")
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value < 6 * (1 << 20):
        raise ValueError(f"{text!r} is below the 6m a container needs at least")
    return value


def nano_cpus(text: str) -> int:
    """``0.5`` -> 500000000, as ``docker run --cpus`` reads it."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of CPUs like 0.5 or 2") from None
    if not 0 < value <= 1024:
        raise ValueError(f"{text!r} must be more than 0 CPUs")
    return round(value * 1e9)


def parse_host(spec: str) -> tuple[str | None, str, int | None]:
    """``root@10.0.0.2:2222`` -> ("root", "10.0.0.2", 2222); IPv6 as ``[::1]:22``.

    Raises ValueError for what ssh could not take as one host: an empty
    name, a bad port, or characters that only mean something to a shell.
    """
    user, _, rest = spec.rpartition("@")
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail:
            if not (tail.startswith(":") and tail[1:].isdigit()):
                raise ValueError(f"invalid port in {spec!r}")
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"invalid port in {spec!r}")
        port = int(port_text)
    else:
        host = rest
    if not host:
        raise ValueError(f"no host name in {spec!r}")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port {port} in {spec!r} is not a TCP port (1-65535)")
    if not re.fullmatch(r"[A-Za-z0-9._:%-]+", host) or host.startswith("-"):
        raise ValueError(f"{host!r} is not a host name or address")
    if user and (not re.fullmatch(r"[A-Za-z0-9._\\-]+", user) or user.startswith("-")):
        raise ValueError(f"{user!r} is not a user name")
    return (user or None), host, port


#: Docker's rule for a volume name (``docker volume create``), as the engine checks it.
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def parse_volume(text: str) -> tuple[str, str, bool]:
    """``NAME:/path[:ro]`` or ``/host/path:/path[:ro]`` -> (source, target, read_only),
    split as ``docker run -v`` splits it. The parts themselves are checked by the
    model (the same checks as the mapping form); raises ValueError for a text
    that is not two or three parts, or a mode other than ro/rw."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise ValueError(f"{text!r} is not SOURCE:TARGET[:ro] (e.g. data:/var/lib/app or /srv/app:/data:ro)")
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise ValueError(f"{text!r}: {mode!r} is not a mode goship passes on (ro or rw)")
    return parts[0], parts[1], mode == "ro"
