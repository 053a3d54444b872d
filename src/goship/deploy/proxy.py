"""The per-host Caddy proxy: its container and its configuration, as data.

One proxy container per published port owns that port on the host and
forwards to the current container of each service over the private
network. Each service has its own site file, so deploying one service
rewrites only its file; Caddy's graceful reload keeps open connections.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass

from goship.deploy.specs import LOG_OPTS, NETWORK, managed
from goship.engine.api import ContainerSpec, PortBinding

CONFIG_DIR = "/etc/caddy"
SITES_DIR = f"{CONFIG_DIR}/sites"
CADDYFILE = f"{CONFIG_DIR}/Caddyfile"
#: Caddy listens on unprivileged ports inside its container, so it needs no
#: capabilities at all; the host port maps onto them.
HTTP_PORT = 8080
HTTPS_PORT = 8443
#: A read-only window on Caddy's admin API (in-flight requests per upstream,
#: for draining), published on the host's loopback only. The admin API
#: itself stays on the container's own localhost.
STATUS_PORT = 2020
UPSTREAMS_PATH = "/reverse_proxy/upstreams"


@dataclass(frozen=True)
class ProxySpec:
    image: str
    public_port: int
    bind_address: str = "0.0.0.0"
    https_port: int | None = None

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


def main_caddyfile() -> str:
    return (
        "# Written by goship; each service's route is in sites/<service>.caddy\n"
        "{\n"
        "\tadmin localhost:2019\n"
        f"\thttp_port {HTTP_PORT}\n"
        f"\thttps_port {HTTPS_PORT}\n"
        "}\n"
        f":{STATUS_PORT} {{\n"
        "\t@upstreams {\n"
        "\t\tmethod GET\n"
        f"\t\tpath {UPSTREAMS_PATH}\n"
        "\t}\n"
        "\thandle @upstreams {\n"
        "\t\treverse_proxy localhost:2019 {\n"
        "\t\t\theader_up Host localhost:2019\n"
        "\t\t}\n"
        "\t}\n"
        "\trespond 404\n"
        "}\n"
        "import sites/*.caddy\n"
    )


def site_config(
    service: str,
    upstream: str,
    app_port: int,
    domains: tuple[str, ...] = (),
    tls: str = "acme",
    draining: str | None = None,
) -> str:
    """The route of one service: by host name over HTTPS when it has domains
    (Caddy obtains and renews the certificates), else every request on the
    proxy's HTTP port.

    ``draining`` (the container being replaced) is listed second, behind
    ``lb_policy first``: no request goes to it while the first answers, but
    Caddy keeps its upstream - and its count of requests still in flight
    from before the reload - which is what draining waits on.
    """
    address = ", ".join(domains) if domains else f":{HTTP_PORT}"
    tls_line = "\ttls internal\n" if domains and tls == "internal" else ""
    upstreams = f"{upstream}:{app_port}" + (f" {draining}:{app_port}" if draining and draining != upstream else "")
    return (
        f"# goship service {service}\n"
        f"{address} {{\n"
        f"{tls_line}"
        f"\treverse_proxy {upstreams} {{\n"
        "\t\tlb_policy first\n"
        # Retry briefly instead of failing a request while an upstream is
        # being replaced.
        "\t\tlb_try_duration 5s\n"
        "\t\tlb_try_interval 100ms\n"
        "\t}\n"
        "}\n"
    )


def no_site(service: str) -> str:
    """A site file that routes nothing: Caddy rejects an empty imported file,
    but accepts a snippet definition that nothing imports."""
    return f"# goship service {service}: no route\n(goship-unrouted-{service}) {{\n}}\n"


def site_file(service: str) -> str:
    """Path of a service's site file, relative to CONFIG_DIR."""
    return f"sites/{service}.caddy"


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


def container(spec: ProxySpec) -> ContainerSpec:
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


def site_path(service: str) -> str:
    return f"{CONFIG_DIR}/{site_file(service)}"


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


def parse_upstream(tar_bytes: bytes) -> str | None:
    """The container a site file routes to (None when it routes nowhere)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            extracted = tar.extractfile(member) if member else None
            text = extracted.read().decode("utf-8", "replace") if extracted else ""
    except tarfile.TarError:
        return None
    match = re.search(r"reverse_proxy\s+([A-Za-z0-9_.-]+):\d+", text)
    return match.group(1) if match else None
