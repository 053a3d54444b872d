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

A route's requests go to its upstreams by weight: usually one container
(weight 1), perhaps with the one it replaced draining (weight 0: no new
requests, listed so Caddy keeps counting what it still answers); or a
split such as 1:9 between a new version and the old one. Caddy 2.6 has no
weighted policy (``weighted_round_robin`` came later), so a split is
rendered as each upstream listed as often as its weight, reduced by the
weights' gcd, under ``lb_policy round_robin``. A route of one container is
rendered, and stored in routes.json, exactly as before weights existed.
"""

from __future__ import annotations

import math
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


#: A container name as Docker allows it (and as a Caddyfile address needs it: no spaces, braces or quotes).
_CONTAINER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: The most upstream entries a split renders (its weights reduced by their gcd): any split in percent fits.
MAX_SPLIT = 100


@dataclass(frozen=True)
class Upstream:
    """One container a route sends requests to, and its share of them."""

    name: str
    port: int  # the container's port
    #: Its share of the route's new requests, relative to the others' weights; 0: draining
    #: (no new requests, listed so Caddy keeps counting what it still answers).
    weight: int = 1

    @property
    def address(self) -> str:
        return f"{self.name}:{self.port}"


def single(upstream: str, port: int, draining: str | None = None) -> tuple[Upstream, ...]:
    """The upstreams of a route to one container, the one it replaces (if any) draining: every route before weights."""
    return (Upstream(upstream, port),) + ((Upstream(draining, port, 0),) if draining and draining != upstream else ())


@dataclass(frozen=True)
class Route:
    """One service's place on one proxy."""

    service: str
    #: The containers that get the requests, by weight, and those draining (weight 0), in the order given.
    upstreams: tuple[Upstream, ...]
    domains: tuple[str, ...] = ()
    tls: str = "acme"
    path_prefix: str | None = None
    strip_prefix: bool = False
    #: ``<service>.localhost`` on the local engine: every local service has an address of its own.
    local_name: str | None = None
    #: Takes every request of the proxy port that no name or prefix took.
    catch_all: bool = False

    def __post_init__(self) -> None:
        if not self.serving:
            raise ValueError(f"route of {self.service}: no upstream has a weight above 0")

    @property
    def serving(self) -> tuple[Upstream, ...]:
        """The upstreams that get new requests (weight above 0)."""
        return tuple(u for u in self.upstreams if u.weight > 0)

    @property
    def draining_upstreams(self) -> tuple[Upstream, ...]:
        return tuple(u for u in self.upstreams if u.weight == 0)

    @property
    def primary(self) -> Upstream:
        """The upstream with the largest share (the first of those): the one container of a plain route."""
        return max(self.serving, key=lambda u: u.weight)  # max keeps the first of equals

    @property
    def upstream(self) -> str:
        """The container that gets the requests (of a split: the most of them)."""
        return self.primary.name

    @property
    def port(self) -> int:
        return self.primary.port

    @property
    def draining(self) -> str | None:
        """The (first) container being replaced, if any."""
        return next((u.name for u in self.draining_upstreams), None)

    @property
    def plain(self) -> bool:
        """One container, perhaps with one draining on its port: all ``upstream``, ``port`` and ``draining`` say."""
        return self.upstreams == single(self.upstream, self.port, self.draining)

    def to_dict(self) -> dict[str, object]:
        """The route in routes.json. ``upstream``, ``port`` and ``draining`` as goship wrote them before
        weights (a plain route is written exactly as then, and a goship of then reads the primary of a
        split); ``upstreams`` only when a route is more than those say."""
        data: dict[str, object] = {
            "service": self.service,
            "upstream": self.upstream,
            "port": self.port,
            "draining": self.draining,
            "domains": list(self.domains),
            "tls": self.tls,
            "path_prefix": self.path_prefix,
            "strip_prefix": self.strip_prefix,
            "local_name": self.local_name,
            "catch_all": self.catch_all,
        }
        if not self.plain:
            data["upstreams"] = [asdict(u) for u in self.upstreams]
        return data


def _normalised(upstreams: Iterable[Upstream]) -> tuple[Upstream, ...]:
    """A lone upstream that gets requests comes first with weight 1 (its share is all of them), as in a plain route."""
    upstreams = tuple(upstreams)
    serving = [u for u in upstreams if u.weight > 0]
    if len(serving) != 1:
        return upstreams
    return (replace(serving[0], weight=1), *(u for u in upstreams if u.weight == 0))


def checked_upstreams(entries: Iterable[tuple[object, object, object]]) -> tuple[Upstream, ...]:
    """``(container, port, weight)`` entries as upstreams of one route, or DeployError saying what is wrong.

    A weight is a whole number of 0 or more, relative to the others (1:3
    sends one request in four to the first); 0 drains. At least one weight
    is above 0, no container is listed twice, and the weights reduced by
    their gcd add up to at most ``MAX_SPLIT``.
    """
    how = "a weight is a whole number, the share of requests relative to the others: 1 and 9 send one in ten to the first; 0 drains"
    upstreams: list[Upstream] = []
    for name, port, weight in entries:
        if not isinstance(name, str) or not _CONTAINER_NAME.fullmatch(name):
            raise DeployError(f"{name!r} is not a container name", hint="name the containers of the split as docker ps shows them")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise DeployError(f"{name}: port {port!r} is not a TCP port", hint="use a number from 1 to 65535 (app.port)")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise DeployError(f"{name}: weight {weight!r} is not a whole number of 0 or more", hint=how)
        if any(u.name == name for u in upstreams):
            raise DeployError(f"{name} is listed twice in the split", hint="list each container once, with its whole weight")
        upstreams.append(Upstream(name, port, weight))
    weights = [u.weight for u in upstreams if u.weight > 0]
    if not weights:
        raise DeployError("no container of the split has a weight above 0, so none would get the requests", hint=how)
    if sum(weights) // math.gcd(*weights) > MAX_SPLIT:
        raise DeployError(
            f"the split {':'.join(map(str, weights))} is finer than the proxy expresses (at most {MAX_SPLIT} shares)",
            hint="give the weights in percent (e.g. 10 and 90), or with a common factor",
        )
    return _normalised(upstreams)


def present(route: Route, containers: set[str]) -> Route | None:
    """The route with only the upstreams whose container is in ``containers``; None when none that gets requests is."""
    kept = tuple(u for u in route.upstreams if u.name in containers)
    if kept == route.upstreams:
        return route
    if not any(u.weight > 0 for u in kept):
        return None
    return replace(route, upstreams=_normalised(kept))


def parse_route(raw: object) -> Route | None:
    """A route from the table's JSON (as any goship wrote it); None when it is not one."""
    if not isinstance(raw, dict):
        return None
    try:
        listed = raw.get("upstreams")
        if listed is None:
            upstreams = single(str(raw["upstream"]), int(raw["port"]), str(raw["draining"]) if raw.get("draining") else None)
        else:
            upstreams = checked_upstreams((u["name"], u["port"], u["weight"]) for u in listed)
        return Route(
            service=str(raw["service"]),
            upstreams=upstreams,
            domains=tuple(str(d) for d in raw.get("domains") or ()),
            tls=str(raw.get("tls") or "acme"),
            path_prefix=str(raw["path_prefix"]) if raw.get("path_prefix") else None,
            strip_prefix=bool(raw.get("strip_prefix")),
            local_name=str(raw["local_name"]) if raw.get("local_name") else None,
            catch_all=bool(raw.get("catch_all")),
        )
    except (KeyError, TypeError, ValueError, DeployError):
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
    """The route of ``service`` to ``upstream`` (``draining`` the one it replaces), or DeployError
    when another service holds what it needs (see ``route_to``)."""
    return route_to(service, single(upstream, port, draining), wanted, others)


def route_to(service: str, upstreams: tuple[Upstream, ...], wanted: Wanted, others: Iterable[Route]) -> Route:
    """The route of ``service`` to ``upstreams`` (as ``checked_upstreams`` gives them), or DeployError
    when another service holds what it needs.

    A service with neither domains nor a path prefix wants the catch-all:
    locally it gets it only while no other service has it (it always has its
    own ``<service>.localhost``); on a remote host a second catch-all on the
    same port is refused, naming the service that has it and the ways out.
    """
    others = [o for o in others if o.service != service]
    wants_catch_all = not wanted.domains and not wanted.path_prefix
    route = Route(
        service=service,
        upstreams=upstreams,
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
    serving = route.serving
    if len(serving) > 1:
        return _split_block(route, indent)
    upstreams = " ".join(u.address for u in (*serving, *route.draining_upstreams))
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


def split_addresses(route: Route) -> list[str]:
    """The upstreams of a split as Caddy 2.6 is given them: each listed as often as its weight (weights
    reduced by their gcd), so round robin sends each its share (1:3 -> a b b b)."""
    share = math.gcd(*(u.weight for u in route.serving))
    return [u.address for u in route.serving for _ in range(u.weight // share)]


def _split_block(route: Route, indent: str) -> list[str]:
    lines = [
        f"{indent}reverse_proxy {' '.join(split_addresses(route))} {{",
        f"{indent}\tlb_policy round_robin",
        # A retry goes to the next in turn: a request survives an upstream being replaced.
        f"{indent}\tlb_try_duration 5s",
        f"{indent}\tlb_try_interval 100ms",
        f"{indent}}}",
    ]
    if route.draining_upstreams:
        lines += [
            f"{indent}# Never reached (the proxy above answers every request): lists the draining",
            f"{indent}# upstreams so Caddy keeps counting what they still answer.",
            f"{indent}reverse_proxy {' '.join(u.address for u in route.draining_upstreams)}",
        ]
    return lines


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
    by_service = {r.service: r for r in routes}

    def roles_of(service: str) -> list[Route]:
        return [r for r in routes if r.service.startswith(service + ":") and r.path_prefix and not r.domains]

    def on_bare_port(route: Route) -> bool:
        # A role's path belongs where its service is reached: the bare port only if the
        # service holds the catch-all there (or has no local name of its own).
        main = by_service.get(route.service.split(":", 1)[0]) if ":" in route.service else None
        return main is None or main.catch_all or not main.local_name

    for route in routes:
        if route.local_name:
            lines += [f"http://{route.local_name} {{", *_handles(roles_of(route.service), route), "}"]
    in_catch_all = [r for r in routes if not r.domains and (r.path_prefix or r.catch_all) and on_bare_port(r)]
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
        upstreams=single(match.group(3), int(match.group(4))),
        domains=domains,
        tls="internal" if match.group(2) else "acme",
        catch_all=not domains,
    )
