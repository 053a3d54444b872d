"""The per-host Caddy proxy: its container and the files of its configuration, as data.

One proxy container per published port owns that port on the host and
forwards to the current container of each service over the private
network. Its configuration volume holds the route table
(``goship/routes.json``: every service's ``Route``) and the Caddyfile
rendered from it (``goship.deploy.routes.render``); a change rewrites both
and reloads Caddy gracefully, which keeps open connections.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass

from goship.deploy import routes
from goship.deploy.routes import HTTP_PORT, HTTPS_PORT, STATUS_PORT, UPSTREAMS_PATH, Route
from goship.deploy.specs import LOG_OPTS, NETWORK, managed
from goship.engine.api import ContainerSpec, PortBinding

__all__ = ["HTTPS_PORT", "HTTP_PORT", "STATUS_PORT", "UPSTREAMS_PATH", "ProxySpec"]

CONFIG_DIR = "/etc/caddy"
CADDYFILE = f"{CONFIG_DIR}/Caddyfile"
TABLE_FILE = routes.TABLE_URL.lstrip("/")  # served from CONFIG_DIR at that URL
TABLE_PATH = f"{CONFIG_DIR}/{TABLE_FILE}"
#: Where goship before the route table kept one site file per service.
LEGACY_SITES = f"{CONFIG_DIR}/sites"


@dataclass(frozen=True)
class ProxySpec:
    image: str
    public_port: int
    bind_address: str = "0.0.0.0"
    https_port: int | None = None
    #: The local engine's proxy: every service also gets ``<service>.localhost``.
    local: bool = False

    @property
    def name(self) -> str:
        return f"goship-proxy-{self.public_port}"

    @property
    def volume(self) -> str:
        return f"{self.name}-config"

    @property
    def data_volume(self) -> str:
        """Certificates and ACME account: kept across proxy re-creations."""
        return f"{self.name}-data"

    @property
    def lock(self) -> str:
        """The lock around changes of this proxy's route table (another name space than services' locks)."""
        return f"goship-proxylock-{self.public_port}"


def container(spec: ProxySpec, command: tuple[str, ...] | None = None) -> ContainerSpec:
    """The proxy container; with ``command`` (``caddy validate``), a one-off that checks
    the configuration in the volume (read-only, no network, nothing published)."""
    if command is not None:
        return ContainerSpec(
            image=spec.image,
            labels=managed("proxy-check"),
            cmd=command,
            network="none",
            binds=(f"{spec.volume}:{CONFIG_DIR}:ro",),
            cap_drop=("ALL",),
            security_opt=("no-new-privileges",),
        )
    publish = [PortBinding(HTTP_PORT, spec.bind_address, spec.public_port)]
    if spec.https_port:
        publish.append(PortBinding(HTTPS_PORT, spec.bind_address, spec.https_port))
    publish.append(PortBinding(STATUS_PORT, "127.0.0.1", None))
    return ContainerSpec(
        image=spec.image,
        labels=managed("proxy", **{"goship.proxy.port": str(spec.public_port)}),
        cmd=("caddy", "run", "--config", CADDYFILE, "--adapter", "caddyfile"),
        network=NETWORK,
        publish=tuple(publish),
        binds=(f"{spec.volume}:{CONFIG_DIR}", f"{spec.data_volume}:/data"),
        restart="unless-stopped",
        cap_drop=("ALL",),
        security_opt=("no-new-privileges",),
        log_opts=LOG_OPTS,
    )


RELOAD = ("caddy", "reload", "--config", CADDYFILE, "--adapter", "caddyfile")
VALIDATE = ("caddy", "validate", "--config", CADDYFILE, "--adapter", "caddyfile")


def table_json(table: Mapping[str, Route]) -> str:
    data = {name: route.to_dict() for name, route in sorted(table.items())}
    return json.dumps({"routes": data}, indent=2, sort_keys=True) + "\n"


def parse_table(data: bytes) -> dict[str, Route] | None:
    """routes.json -> {service: Route}; None when it is not a route table."""
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("routes"), dict):
        return None
    table = {}
    for name, item in raw["routes"].items():
        route = routes.parse_route(item)
        if route is not None and route.service == name:
            table[name] = route
    return table


def config_files(table: Mapping[str, Route]) -> dict[str, str]:
    """Everything the proxy's configuration volume holds, for ``put_archive`` into /etc/caddy."""
    return {"Caddyfile": routes.render(table.values()), TABLE_FILE: table_json(table)}


def config_tar(files: dict[str, str]) -> bytes:
    """A tar of ``{path relative to /etc/caddy: text}`` for ``docker cp -``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
        for directory in dirs:
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for path, text in sorted(files.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_files(data: bytes) -> dict[str, bytes]:
    """The regular files of a tar from ``GET /archive`` (names as in the tar)."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    extracted = tar.extractfile(member)
                    found[member.name] = extracted.read() if extracted else b""
    except (tarfile.TarError, EOFError, OSError, ValueError):
        return {}
    return found


def legacy_table(sites_tar: bytes) -> dict[str, Route]:
    """Routes from the ``sites/<service>.caddy`` files of a proxy made before the route table."""
    table = {}
    for name, data in tar_files(sites_tar).items():
        leaf = name.rsplit("/", 1)[-1]
        if not leaf.endswith(".caddy"):
            continue
        service = leaf.removesuffix(".caddy")
        route = routes.from_site_file(service, data.decode("utf-8", "replace"))
        if route is not None:
            table[service] = route
    return table


def parse_upstream_counts(body: bytes) -> dict[str, int]:
    """``GET /reverse_proxy/upstreams`` -> {"hello-1-abc:8080": requests in flight}."""
    try:
        items = json.loads(body)
    except ValueError:
        return {}
    counts: dict[str, int] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("address"), str):
            counts[item["address"]] = int(item.get("num_requests") or 0)
    return counts
