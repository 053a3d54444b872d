"""Where a Go service listens: every listen call and http.Server, ranked.

Recognised: ``http.ListenAndServe[TLS](addr, h)``, ``net.Listen("tcp", addr)``,
``http.Server{Addr: ..., Handler: ...}``, and the frameworks' ``r.Run(addr)``
(gin), ``e.Start(addr)`` (echo), ``app.Listen(addr)`` (fiber). The address
may be a literal or a name followed back to one (``const addr = ":9100"``,
``":" + port``, a flag's default), also into the module's other packages
(``config.DefaultAddr``, ``cfg.Addr`` set in ``internal/config``). When a service has several listeners (a metrics or pprof
port beside the main one) the one serving the router wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goship.golang import goscan

_CALL = re.compile(
    r"(?<![\w.])(?:(?P<recv>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.)?"
    r"(?P<func>ListenAndServeTLS|ListenAndServe|ListenTLS|Listen|RunTLS|Run|StartTLS|Start)\s*\("
)
_SERVER = re.compile(r"\bhttp\.Server\s*\{")
#: A listener for metrics, profiling or administration, not the service itself.
_SECONDARY = re.compile(r"metric|promhttp|prometheus|pprof|debug|admin|telemetry|diagnostic", re.IGNORECASE)
_ROUTER_CONSTRUCTOR = (
    r"(?:http\.NewServeMux|gin\.(?:New|Default)|chi\.NewRouter|mux\.NewRouter|echo\.New|fiber\.New"
    r"|httprouter\.New)\("
)
_ROUTES = r"\.(?:HandleFunc|Handle|GET|Get|POST|Post|Group|Route|Mount|Use|Any|PathPrefix|NotFound)\("
_ROUTER_NAME = re.compile(r"rout|mux|handler|api|app|server", re.IGNORECASE)

#: Ranks: the main router's listener first, then any, then metrics/pprof ones.
MAIN, OTHER, SECONDARY = 2, 1, 0


@dataclass(frozen=True)
class Listener:
    port: str
    file: str
    offset: int
    line: int
    rank: int
    #: the host of the address when the code fixes one ("127.0.0.1"); "" for all interfaces.
    host: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _rank(handler: str | None, context: str, all_text: str) -> int:
    if _SECONDARY.search(f"{handler or ''} {context}"):
        return SECONDARY
    if handler is None:
        return OTHER
    handler = handler.strip().lstrip("&*")
    if handler == "nil":
        return MAIN if re.search(r"\bhttp\.Handle(?:Func)?\(", all_text) else OTHER
    if "(" in handler:
        return MAIN if _ROUTER_NAME.search(handler.split("(", 1)[0]) else OTHER
    name = re.escape(handler)
    if re.search(rf"(?<![\w.]){name}{_ROUTES}", all_text) or re.search(
        rf"(?<![\w.]){name}\s*:?=\s*&?{_ROUTER_CONSTRUCTOR}", all_text
    ):
        return MAIN
    return MAIN if _ROUTER_NAME.search(handler) else OTHER


def _from_calls(name: str, text: str, all_text: str) -> list[Listener]:
    found: list[Listener] = []
    for match in _CALL.finditer(text):
        recv, func = match.group("recv"), match.group("func")
        args = goscan.call_args(text, match.end() - 1)
        if not args:
            continue  # srv.ListenAndServe(): the address is in the http.Server
        if func.startswith("Listen") and not func.startswith("ListenAndServe") and len(args) > 1 and (
            (goscan.unquote(args[0]) or "").startswith("tcp") or recv in ("net", "tls")
        ):
            address = args[1]
        else:
            address = args[0]
        port = goscan.port_of_addr(address, text, match.start(), elsewhere=all_text)
        if port is None:
            continue
        if recv in ("http", None) and func.startswith("ListenAndServe"):
            index = 3 if func.endswith("TLS") else 1
            handler: str | None = args[index] if len(args) > index else None
        elif recv in ("net", "tls", None):
            handler = None
        else:
            handler = recv  # gin's r.Run, echo's e.Start, fiber's app.Listen
        context = text[match.start() : goscan.closing(text, match.end() - 1)]
        host = goscan.host_of_addr(address, text, match.start(), elsewhere=all_text) or ""
        found.append(
            Listener(
                port, name, match.start(), goscan.line_of(text, match.start()), _rank(handler, context, all_text), host
            )
        )
    return found


def _from_servers(name: str, text: str, all_text: str) -> list[Listener]:
    found: list[Listener] = []
    for match in _SERVER.finditer(text):
        body = text[match.end() : goscan.closing(text, match.end() - 1)]
        fields = {}
        for part in goscan.split_args(body):
            key, sep, value = part.partition(":")
            if sep and re.fullmatch(r"\s*\w+\s*", key):
                fields[key.strip()] = value.strip()
        if "Addr" not in fields:
            continue
        port = goscan.port_of_addr(fields["Addr"], text, match.start(), elsewhere=all_text)
        if port is None:
            continue
        # The variable the server is assigned to says what it is (metricsServer).
        line_start = text.rfind("\n", 0, match.start()) + 1
        context = text[line_start : match.start()] + body
        found.append(
            Listener(
                port, name, match.start(), goscan.line_of(text, match.start()),
                _rank(fields.get("Handler"), context, all_text),
                goscan.host_of_addr(fields["Addr"], text, match.start(), elsewhere=all_text) or "",
            )
        )
    return found


def find_listeners(sources: dict[str, str]) -> list[Listener]:
    """Every listener found, best first (rank, then file and position)."""
    texts = {name: goscan.strip_comments(raw) for name, raw in sorted(sources.items())}
    all_text = "\n".join(texts.values())
    found: list[Listener] = []
    for name, text in texts.items():
        found += _from_calls(name, text, all_text) + _from_servers(name, text, all_text)
    order = {name: index for index, name in enumerate(texts)}
    return sorted(found, key=lambda item: (-item.rank, order[item.file], item.offset))
