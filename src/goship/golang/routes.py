"""The health path ``goship init`` guesses from a service's route registrations.

Only registration calls count (``mux.HandleFunc("/healthz", ...)``,
``mux.Handle("GET /healthz", ...)``, ``r.GET``/``r.Get``, httprouter's
``r.Handler("GET", "/ping", ...)``, a local ``handle("GET /x", ...)``
helper), never a string that merely looks like a path (``log.Printf("/health")``).
A router group's prefix is added when the receiver came from one:
``api := r.Group("/api")`` (gin, echo, fiber), ``r.PathPrefix("/api").Subrouter()``
(gorilla), ``r.Route("/api", func(r chi.Router) {...})`` and ``r.Mount("/api", sub)``
(chi), ``http.StripPrefix("/api", sub)``.

Wildcards (Go 1.22's ``{code}``, gorilla's ``{code:[0-9]+}``, gin's ``:code``)
make a route usable only when they stand for a status code: a service whose
health route is ``/status/{code}`` is probed at ``/status/200``. Any other
wildcard (``/users/{id}``) has no value a probe could use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goship.golang.goscan import Guess, closing, line_of, strip_comments

#: Health endpoints goship recognises, in order of preference.
HEALTH_PATHS = ("/healthz", "/health", "/livez", "/readyz", "/healthcheck", "/ping", "/status")

#: A wildcard segment naming a status code, in each router's syntax; the probe asks for 200.
_STATUS_WILDCARD = re.compile(
    r"(?:\{(?P<a>[A-Za-z_]\w*)(?::[^{}]*)?\}|:(?P<b>[A-Za-z_]\w*))"
)
_STATUS_NAMES = {"code", "codes", "status", "statuscode", "status_code", "httpstatus", "http_status"}

_RECV = r"(?P<recv>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
_PATTERN = r'"(?P<pattern>[^"\n]*)"'
# recv.HandleFunc("/x", ...), recv.GET("/x", ...), http.Handle("GET /x", ...).
_METHOD_REGISTER = re.compile(
    rf"(?<![\w.]){_RECV}\.(?:HandleFunc|Handle|GET|Get|HEAD|Head|Any|All|handle|handleFunc)\(\s*{_PATTERN}\s*,"
)
# handle("GET /x", ...): a package-local helper.
_LOCAL_REGISTER = re.compile(rf"(?<![\w.])(?P<recv>)(?:handle|handleFunc|route)\(\s*{_PATTERN}\s*,")
# httprouter's r.Handler("GET", "/x", h), chi's r.Method("GET", "/x", h).
_METHOD_ARG_REGISTER = re.compile(
    rf'(?<![\w.]){_RECV}\.(?:Handler|HandlerFunc|Handle|Method|MethodFunc)\(\s*"[A-Z]+"\s*,\s*{_PATTERN}\s*,'
)
# api := r.Group("/api"), s := r.PathPrefix("/api").Subrouter()
_GROUP = re.compile(
    r"(?<![\w.])(?P<var>[A-Za-z_]\w*)\s*:?=\s*(?P<parent>[A-Za-z_][\w.]*)\.(?:Group|PathPrefix|Party)\(\s*\"(?P<prefix>[^\"]*)\""
)
# r.Mount("/api", sub), mux.Handle("/api/", http.StripPrefix("/api", sub))
_MOUNT = re.compile(
    r"\.(?:Mount\(\s*\"(?P<m>[^\"]*)\"|StripPrefix\(\s*\"(?P<s>[^\"]*)\")\s*,\s*(?P<var>[A-Za-z_]\w*)\s*[,)]"
)
# r.Route("/api", func(r chi.Router) { ... })
_ROUTE_BLOCK = re.compile(r"\.Route\(\s*\"(?P<prefix>[^\"]*)\"\s*,\s*func\s*\(\s*(?P<param>\w+)[^)]*\)\s*\{")


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    param: str
    prefix: str


def _join(prefix: str, path: str) -> str:
    return (prefix.rstrip("/") + "/" + path.lstrip("/")) if prefix else path


def _group_prefixes(text: str) -> dict[str, str]:
    prefixes: dict[str, str] = {}
    for match in _MOUNT.finditer(text):
        prefixes[match.group("var")] = match.group("m") or match.group("s") or ""
    for match in _GROUP.finditer(text):  # in order, so a group of a group adds up
        parent = prefixes.get(match.group("parent"), "")
        prefixes[match.group("var")] = _join(parent, match.group("prefix"))
    return prefixes


def _route_blocks(text: str) -> list[_Block]:
    return [
        _Block(m.end() - 1, closing(text, m.end() - 1), m.group("param"), m.group("prefix"))
        for m in _ROUTE_BLOCK.finditer(text)
    ]


def _segment(segment: str) -> str | None:
    """A path segment as a probe would send it: literal text as is, a status-code
    wildcard as 200, None for any other wildcard."""
    wildcard = _STATUS_WILDCARD.fullmatch(segment)
    if wildcard:
        name = wildcard.group("a") or wildcard.group("b") or ""
        return "200" if name.lower() in _STATUS_NAMES else None
    return None if any(c in segment for c in "{}*:") else segment


def _path_of(pattern: str) -> str | None:
    """"GET example.com/healthz/{$}" -> "/healthz"; "/status/{code}" -> "/status/200";
    None for a pattern no probe can ask for."""
    match = re.fullmatch(r"(?:[A-Z]+\s+)?[\w.-]*(/\S*?)(?:\{\$\})?", pattern.strip())
    if not match:
        return None
    segments = [_segment(part) for part in match.group(1).split("/")]
    known = [part for part in segments if part is not None]
    if len(known) < len(segments):
        return None
    path = "/".join(known)
    return path.rstrip("/") or "/"


def _coded(pattern: str) -> bool:
    """Whether the pattern's last segment is a status-code wildcard."""
    last = pattern.strip().removesuffix("{$}").rstrip("/").rsplit("/", 1)[-1]
    return _segment(last) == "200" and last != "200"


def registered_paths(text: str) -> list[tuple[str, int, str, bool]]:
    """(full path, offset, the group prefix added, whether it ends in a status-code
    wildcard) of each route registered in ``text`` (comments already stripped)."""
    prefixes = _group_prefixes(text)
    blocks = _route_blocks(text)
    found: list[tuple[str, int, str, bool]] = []
    for regex in (_METHOD_REGISTER, _LOCAL_REGISTER, _METHOD_ARG_REGISTER):
        for match in regex.finditer(text):
            path = _path_of(match.group("pattern"))
            if path is None:
                continue
            recv = match.group("recv") or ""
            prefix = ""
            for block in blocks:  # outer blocks first: they start earlier
                if block.start < match.start() < block.end and block.param == recv:
                    prefix = _join(prefix, block.prefix)
            prefix = _join(prefixes.get(recv, ""), prefix) if recv in prefixes else prefix
            full = _join(prefix, path) if prefix else path
            found.append((full, match.start(), prefix.rstrip("/"), _coded(match.group("pattern"))))
    return sorted(found, key=lambda item: item[1])


def guess_health_path(sources: dict[str, str]) -> Guess | None:
    """The health endpoint a handler is registered for: one of HEALTH_PATHS at the
    top level (in that order of preference), else one under a group prefix
    (``/api/health``)."""
    best: tuple[tuple[int, int, int], Guess] | None = None
    for order, (name, raw) in enumerate(sorted(sources.items())):
        text = strip_comments(raw)
        for path, offset, prefix, coded in registered_paths(text):
            last = "/" + path.rstrip("/").rsplit("/", 1)[-1]
            if path in HEALTH_PATHS:
                rank = (0, HEALTH_PATHS.index(path), order)
            elif last in HEALTH_PATHS:
                rank = (1, HEALTH_PATHS.index(last), order)
            elif coded:
                # /status/{code} probed as /status/200: it answers the code it is asked for.
                rank = (2, 0, order)
            else:
                continue
            where = f"{name}:{line_of(text, offset)}"
            if prefix:
                where += f" (under the prefix {prefix})"
            if rank[0] == 2:
                where += " (its status-code wildcard asked for 200)"
            if best is None or rank < best[0]:
                best = (rank, Guess(path, where))
    return best[1] if best else None
