"""Which requests a host's proxy sends to which service: routes as data, and the Caddyfile.

Each service on a proxy has one ``Route``, kept in the route table in the
proxy's config volume (``/etc/caddy/goship/routes.json``). The Caddyfile
is rendered from all of them at once, every time one changes, so it can
never disagree with itself: no two services claim the same name, path or
catch-all, and a route whose service has no container left on the host is
simply not rendered. Pure: the rollout reads the routes, asks ``plan`` what
the new set is (or why it is refused), and writes the result.

Where a request goes, in Caddy's order:
  1. a site per domain (HTTPS) and per local name (``http://shop.localhost``);
  2. the proxy port's catch-all site: path prefixes, longest first, then the
     one service that takes every other request, then a 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from goship.errors import DeployError

#: Caddy listens on unprivileged ports inside its container, so it needs no
#: capabilities at all; the host ports map onto them.
HTTP_PORT = 8080
HTTPS_PORT = 8443
#: A read-only window on Caddy's admin API (in-flight requests per upstream,
#: for draining), published on the host's loopback only. The admin API
#: itself stays on the container's own localhost.
STATUS_PORT = 2020
UPSTREAMS_PATH = "/reverse_proxy/upstreams"
TABLE_URL = "/goship/routes.json"


@dataclass(frozen=True)
class Route:
    """One service's place on one proxy."""

    service: str
    upstream: str  # the container that gets the requests
    port: int  # the container's port
    #: The container being replaced, listed second so Caddy keeps counting what it still answers.
    draining: str | None = None
    domains: tuple[str, ...] = ()
    tls: str = "acme"
    path_prefix: str | None = None
    strip_prefix: bool = False
    #: ``<service>.localhost`` on the local engine: every local service has an address of its own.
    local_name: str | None = None
    #: Takes every request of the proxy port that no name or prefix took.
    catch_all: bool = False

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["domains"] = list(self.domains)
        return data


def parse_route(raw: object) -> Route | None:
    """A route from the table's JSON; None when it is not one."""
    if not isinstance(raw, dict):
        return None
    try:
        return Route(
            service=str(raw["service"]),
            upstream=str(raw["upstream"]),
            port=int(raw["port"]),
            draining=str(raw["draining"]) if raw.get("draining") else None,
            domains=tuple(str(d) for d in raw.get("domains") or ()),
            tls=str(raw.get("tls") or "acme"),
            path_prefix=str(raw["path_prefix"]) if raw.get("path_prefix") else None,
            strip_prefix=bool(raw.get("strip_prefix")),
            local_name=str(raw["local_name"]) if raw.get("local_name") else None,
            catch_all=bool(raw.get("catch_all")),
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Wanted:
    """What a deploy asks of the proxy for its service (from goship.yaml)."""

    domains: tuple[str, ...] = ()
    tls: str = "acme"
    path_prefix: str | None = None
    strip_prefix: bool = False
    local: bool = False  # the local engine: give the service a <service>.localhost name


def route_for(service: str, upstream: str, port: int, wanted: Wanted, others: Iterable[Route],
              draining: str | None = None) -> Route:
    """The route of ``service`` to ``upstream``, or DeployError when another service holds what it needs.

    A service with neither domains nor a path prefix wants the catch-all:
    locally it gets it only while no other service has it (it always has its
    own ``<service>.localhost``); on a remote host a second catch-all on the
    same port is refused, naming the service that has it and the ways out.
    """
    others = [o for o in others if o.service != service]
    wants_catch_all = not wanted.domains and not wanted.path_prefix
    route = Route(
        service=service,
        upstream=upstream,
        port=port,
        draining=draining if draining != upstream else None,
        domains=tuple(wanted.domains),
        tls=wanted.tls,
        path_prefix=wanted.path_prefix,
        strip_prefix=wanted.strip_prefix,
        local_name=f"{service}.localhost" if wanted.local else None,
        catch_all=wants_catch_all,
    )
    holder = next((o for o in others if o.catch_all), None)
    if wants_catch_all and holder is not None:
        if wanted.local:
            route = replace(route, catch_all=False)  # reachable at http://<service>.localhost
        else:
            raise DeployError(
                f"the proxy's port already sends every request to service {holder.service!r}, "
                f"so {service} needs a way to be told apart",
                hint=f"give {service} proxy.domains (its host names), or proxy.path_prefix (e.g. /{service}), "
                f"or another proxy.port (or take {holder.service} off this host)",
            )
    for other in others:
        for domain in route.domains:
            if domain in other.domains and (route.path_prefix or "") == (other.path_prefix or ""):
                raise DeployError(
                    f"{domain}{route.path_prefix or ''} is already routed to service {other.service!r}",
                    hint=f"choose another domain or a proxy.path_prefix for {service}, or remove {other.service}",
                )
            if domain in other.domains and route.tls != other.tls:
                raise DeployError(
                    f"{domain} is served with tls {other.tls} for service {other.service!r}; {service} asks {route.tls}",
                    hint="set the same proxy.tls for every service on one domain",
                )
        if route.path_prefix and not route.domains and other.path_prefix == route.path_prefix and not other.domains:
            raise DeployError(
                f"the path {route.path_prefix} is already routed to service {other.service!r}",
                hint=f"choose another proxy.path_prefix for {service}, or remove {other.service}",
            )
    return route


def _proxy_block(route: Route, indent: str) -> list[str]:
    upstreams = f"{route.upstream}:{route.port}" + (f" {route.draining}:{route.port}" if route.draining else "")
    return [
        f"{indent}reverse_proxy {upstreams} {{",
        # Only the first gets requests; the second is listed so Caddy counts
        # what it still answers after a reload (draining waits on that).
        f"{indent}\tlb_policy first",
        # Retry briefly instead of failing a request while an upstream is being replaced.
        f"{indent}\tlb_try_duration 5s",
        f"{indent}\tlb_try_interval 100ms",
        f"{indent}}}",
    ]


def _handles(routes: list[Route], catch_all: Route | None) -> list[str]:
    lines: list[str] = []
    # Longest prefix first: /api/v2 before /api (Caddy keeps the written order of named matchers).
    ordered = sorted((r for r in routes if r.path_prefix), key=lambda r: (-len(r.path_prefix or ""), r.service))
    for index, route in enumerate(ordered, start=1):
        prefix = route.path_prefix or ""
        matcher = f"@goship_prefix_{index}"
        lines += [f"\t{matcher} path {prefix} {prefix}/*", f"\thandle {matcher} {{"]
        if route.strip_prefix:
            lines.append(f"\t\turi strip_prefix {prefix}")
        lines += [*_proxy_block(route, "\t\t"), "\t}"]
    if catch_all is not None:
        lines += ["\thandle {", *_proxy_block(catch_all, "\t\t"), "\t}"]
    return lines


def render(routes: Iterable[Route]) -> str:
    """The proxy's whole Caddyfile for these routes."""
    routes = sorted(routes, key=lambda r: r.service)
    lines = [
        "# Written by goship from goship/routes.json; each deploy rewrites it.",
        "{",
        "\tadmin localhost:2019",
        f"\thttp_port {HTTP_PORT}",
        f"\thttps_port {HTTPS_PORT}",
        "}",
        f":{STATUS_PORT} {{",
        "\t@upstreams {",
        "\t\tmethod GET",
        f"\t\tpath {UPSTREAMS_PATH}",
        "\t}",
        "\thandle @upstreams {",
        "\t\treverse_proxy localhost:2019 {",
        "\t\t\theader_up Host localhost:2019",
        "\t\t}",
        "\t}",
        # The route table, so goship reads it with one probe instead of an archive.
        f"\thandle {TABLE_URL} {{",
        "\t\troot * /etc/caddy",
        "\t\tfile_server",
        "\t}",
        "\trespond 404",
        "}",
    ]
    domains = sorted({d for r in routes for d in r.domains})
    for domain in domains:
        on_it = [r for r in routes if domain in r.domains]
        lines.append(f"{domain} {{")
        if any(r.tls == "internal" for r in on_it):
            lines.append("\ttls internal")
        lines += _handles(on_it, next((r for r in on_it if not r.path_prefix), None))
        lines.append("}")
    for route in routes:
        if route.local_name:
            lines += [f"http://{route.local_name} {{", *_handles([], route), "}"]
    in_catch_all = [r for r in routes if not r.domains and (r.path_prefix or r.catch_all)]
    catch_all = next((r for r in in_catch_all if r.catch_all and not r.path_prefix), None)
    lines += [f":{HTTP_PORT} {{", *_handles([r for r in in_catch_all if r.path_prefix], catch_all)]
    if catch_all is None:
        lines.append('\trespond "no goship service takes this request here" 404')
    lines.append("}")
    return "\n".join(lines) + "\n"


def from_site_file(service: str, text: str) -> Route | None:
    """The route in a ``sites/<service>.caddy`` written by goship before routes were data
    (one site block: ``:8080`` or domains, an optional ``tls internal``, one ``reverse_proxy``)."""
    match = re.search(r"^([^\s#(][^{]*?) \{\n(\ttls internal\n)?\treverse_proxy ([\w.-]+):(\d+)", text, re.MULTILINE)
    if match is None:
        return None  # "no route" or not goship's
    address = match.group(1).strip()
    domains = () if address.startswith(":") else tuple(a.strip() for a in address.split(",") if a.strip())
    return Route(
        service=service,
        upstream=match.group(3),
        port=int(match.group(4)),
        domains=domains,
        tls="internal" if match.group(2) else "acme",
        catch_all=not domains,
    )
