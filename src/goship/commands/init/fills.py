"""Values ``goship init`` writes into goship.yaml for the service's own settings.

A flag or variable that sets the listen address is the one place where init
knows the right value better than the code's default: goship routes to
app.port on all interfaces of the container. So init writes

- the port for a required address or port setting (``-port=9000`` with
  ``--port 9000``, never ``-port=``);
- an all-interfaces address for one whose default binds loopback
  (``localhost:8080``, ``127.0.0.1:8080``, ``[::1]:8080``), which no request
  from outside the container can reach;
- app.port for the main address setting when its default port differs (a
  ``--port`` given to init, or a port found elsewhere).

A setting goship sets itself ($PORT) needs none of this. And a setting whose
default names a file the service reads at start (a config or hooks file) is
shipped in the image with ``build.files`` when the file is in the module.
Pure: settings in, values and notes out; the file lookup is passed in.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from goship.golang.detect import address_setting, is_address_setting
from goship.golang.goscan import is_loopback
from goship.golang.settings import Setting

__all__ = ["Fill", "ShippedFile", "config_files", "listen_fills"]

#: goship sets these in every container it starts.
_GOSHIP_SETS = {"PORT"}
#: A flag or variable that sets only the interface to bind: -host, --listen-host, $BIND_HOST.
_HOST_SETTING = re.compile(
    r"(?:(?:http|listen|server|bind|web|api)[-_.])?(?:host|ip|interface|bind[-_.](?:host|ip))", re.IGNORECASE
)
_FILE_EXTENSION = re.compile(r"\.(?:ya?ml|json|toml|conf|cfg|ini|hcl|env|properties)$", re.IGNORECASE)
_FILE_NAME = re.compile(r"config|conf|file|path|hooks", re.IGNORECASE)


@dataclass(frozen=True)
class Fill:
    """A value init writes for one of the service's settings."""

    setting: Setting
    value: str
    #: the goship.yaml comment: why this value.
    why: str
    #: the variable it is written to (app.env); "" to write the flag (app.args).
    env: str = ""

    @property
    def arg(self) -> str:
        return f"{self.setting.label}={self.value}"


@dataclass(frozen=True)
class ShippedFile:
    """A module file put in the image with build.files."""

    image_path: str
    source: str
    why: str


def _goship_sets(setting: Setting) -> bool:
    names = ([setting.name] if setting.kind == "env" else []) + list(setting.env)
    return any(name in _GOSHIP_SETS for name in names)


def _port_only(setting: Setting) -> bool:
    """Whether the setting takes a bare port (``-port 8080``) rather than an address."""
    if setting.type.startswith(("int", "uint")):
        return True
    named_port = re.search(r"port$", setting.name, re.IGNORECASE) is not None
    return named_port and re.fullmatch(r"\d*", setting.default or "") is not None


def _host(default: str | None) -> str | None:
    """The host of a ``host:port`` default ("" for ``:8080``), None when it is no address."""
    match = re.fullmatch(r"(\[[^\]]*\]|[\w.-]*):\d{1,5}", default or "")
    return match.group(1) if match else None


def _fill(setting: Setting, value: str, why: str) -> Fill:
    env = setting.name if setting.kind == "env" else (setting.env[0] if setting.env else "")
    return Fill(setting, value, why, env)


def listen_fills(settings: Sequence[Setting], port: int, port_source: str) -> tuple[list[Fill], list[str]]:
    """The values that make the service listen on app.port (``port``, which came from
    ``port_source``: "--port" or where it was found), on every interface; and a
    warning for each loopback default fixed."""
    fills: list[Fill] = []
    warnings: list[str] = []
    done: set[tuple[str, str]] = set()

    def add(fill: Fill) -> None:
        done.add((fill.setting.kind, fill.setting.name))
        fills.append(fill)

    candidates = [s for s in settings if not _goship_sets(s)]
    for setting in candidates:
        if setting.required and is_address_setting(setting):
            value = str(port) if _port_only(setting) else f":{port}"
            add(_fill(setting, value, f"app.port ({port_source}); the service exits without it ({setting.required})"))
    main = address_setting([s for s in candidates if (s.kind, s.name) not in done])
    if main is not None:
        setting, default_port = main
        host = _host(setting.default)
        if host is not None and is_loopback(host):
            value = f":{port}"
            add(_fill(setting, value, f"its default {setting.default} binds loopback only, unreachable from outside the container"))
            warnings.append(
                f"{setting.where}: {setting.described} defaults to {setting.default}, which listens on loopback only "
                f"and cannot be reached from outside the container: goship.yaml sets {_where_set(fills[-1])}"
            )
        elif default_port != str(port):
            value = str(port) if _port_only(setting) else f"{host or ''}:{port}"
            add(_fill(setting, value, f"app.port ({port_source}); its default listens on {default_port}"))
    for setting in candidates:
        if (setting.kind, setting.name) in done or not _HOST_SETTING.fullmatch(setting.name):
            continue
        if is_loopback(setting.default):
            add(_fill(setting, "0.0.0.0", f"its default {setting.default} binds loopback only, unreachable from outside the container"))
            warnings.append(
                f"{setting.where}: {setting.described} defaults to {setting.default}, which cannot be reached from "
                f"outside the container: goship.yaml sets {_where_set(fills[-1])}"
            )
    return fills, warnings


def _where_set(fill: Fill) -> str:
    return f"{fill.env}={fill.value} (app.env)" if fill.env else f"{fill.arg} (app.args)"


def reads_a_file(setting: Setting) -> bool:
    """Whether the setting's default names a file the service reads (a config or
    hooks file): a known config extension, or a flag named config/file/path."""
    default = setting.default or ""
    if not default or re.search(r"\s|://|[*?$%{}]", default) or default in (".", "/", "-"):
        return False
    return bool(_FILE_EXTENSION.search(default) or _FILE_NAME.search(setting.name))


def config_files(
    settings: Sequence[Setting], find: Callable[[str], str | None]
) -> tuple[list[ShippedFile], list[str]]:
    """build.files entries for settings whose default is a file in the module, and a
    note for each such file (shipped, or missing, or kept out because it holds secrets).

    ``find(default)`` is the module path of the file the default names, or None."""
    shipped: list[ShippedFile] = []
    notes: list[str] = []
    for setting in settings:
        if not reads_a_file(setting):
            continue
        default = setting.default or ""
        source = find(default)
        if source is None:
            if _FILE_EXTENSION.search(default):
                notes.append(
                    f"{setting.described} defaults to {default} ({setting.where}), which is not in the module: the "
                    "container will not have it; add the file and a build.files line, or set the flag"
                )
            continue
        name = posixpath.basename(source)
        if name.startswith(".env") or name.endswith(".env"):
            notes.append(
                f"{setting.described} defaults to {default} ({setting.where}): an env file holds secrets and is kept "
                "out of the image; put its values in app.env and app.secrets (or app.env_file)"
            )
            continue
        # The image's working directory is /: a relative default is read from there.
        image_path = default if default.startswith("/") else "/" + posixpath.normpath(default)
        shipped.append(ShippedFile(image_path, source, f"read at start: the default of {setting.described}"))
        notes.append(
            f"{setting.described} defaults to {default} ({setting.where}): the service reads it at start, so "
            f"goship.yaml ships {source} at {image_path} (build.files)"
        )
    return shipped, notes
