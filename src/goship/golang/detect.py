"""Guesses ``goship init`` makes from a service's Go sources: port and health path.

Pure functions over source text (``guess_port``, ``guess_health_path``) plus
``package_sources``, which reads the main package and the module-local
packages it imports. Regular expressions, not a Go parser: a guess only
pre-fills goship.yaml, and each one says where it came from so the user can
check it.
"""

from __future__ import annotations

import re
from pathlib import Path

from goship.golang.goscan import Guess, bound_name, line_of, port_value, strip_comments
from goship.golang.listeners import find_listeners
from goship.golang.routes import HEALTH_PATHS, guess_health_path
from goship.golang.settings import Setting, all_settings

__all__ = [
    "DEFAULT_PORT", "HEALTH_PATHS", "Guess", "address_setting", "guess_health_path", "guess_port", "is_address_setting",
    "local_imports", "package_sources", "speaks_http",
]

DEFAULT_PORT = 8080

_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_IMPORT_LINE = re.compile(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', re.MULTILINE)

# An environment variable read: os.Getenv("PORT"), os.LookupEnv, or a helper
# such as getenv("PORT", "8080") / envOr("PORT", "8080").
_ENV_CALL = re.compile(r'(?<![\w])(?:os\.(?:Getenv|LookupEnv)|\w*[eE]nv\w*)\(\s*"(?P<name>\w+)"')
#: Only these name the HTTP port; DB_PORT, REDIS_PORT... are someone else's.
_HTTP_PORT_VAR = re.compile(r"(?:HTTP_|APP_|LISTEN_|SERVER_|WEB_|SERVICE_|API_)?PORT")
#: Flags that set the service's own listen address or port (not -metrics-addr, -db-port).
_ADDRESS_FLAG = re.compile(
    r"(?:(?:http|https|web|server|listen|api|app|public|bind)[-_.])?"
    r"(?:addr|address|listen|listen[-_.]addr(?:ess)?|http|bind|bind[-_.]addr(?:ess)?|port|listen[-_.]port)",
    re.IGNORECASE,
)


def guess_port(sources: dict[str, str]) -> Guess | None:
    """The port the service listens on, from {file name: Go source}.

    A ``PORT`` variable's default comes first (goship sets PORT when it
    deploys, so matching its default keeps ``go run`` and the container
    alike), then the address of the main listener (the one serving the
    router, not a metrics or pprof port), then an address or port flag or
    variable (also one declared in a struct tag, or defaulting to a constant).
    Other listen ports found are listed in ``others``.
    """
    texts = {name: strip_comments(raw) for name, raw in sorted(sources.items())}
    elsewhere = "\n".join(texts.values())
    listeners = find_listeners(sources)
    settings = all_settings(sources)
    chosen: Guess | None = None
    for name, text in texts.items():
        found = _port_from_env(text, elsewhere)
        if found is not None:
            port, offset, how = found
            chosen = Guess(port, f"{name}:{line_of(text, offset)} ({how})")
            break
    if chosen is None:
        chosen = _port_from_tagged_env(settings)
    if chosen is None and listeners:
        best = listeners[0]
        chosen = Guess(best.port, f"{best.where} (listen address)")
    if chosen is None:
        found_setting = address_setting(settings)
        if found_setting is not None:
            setting, port = found_setting
            chosen = Guess(port, f"{setting.where} (default of {_described(setting)})")
    if chosen is None:
        return None
    others: dict[str, str] = {}
    for item in listeners:
        if item.port != chosen.value and item.port not in others:
            others[item.port] = f"{item.port} ({item.where})"
    return Guess(chosen.value, chosen.evidence, tuple(others.values()))


def _described(setting: Setting) -> str:
    return f"the {setting.label} flag" if setting.kind == "flag" else f"the {setting.name} variable"


def _port_from_env(text: str, elsewhere: str = "") -> tuple[str, int, str] | None:
    for match in _ENV_CALL.finditer(text):
        name = match.group("name")
        if not _HTTP_PORT_VAR.fullmatch(name):
            continue
        port = _env_default(text, match, elsewhere)
        if port is not None:
            return port, match.start(), f"default of the {name} variable"
    return None


def _port_from_tagged_env(settings: list[Setting]) -> Guess | None:
    """A PORT-like variable's default declared in a struct tag (``env:"PORT" envDefault:"8080"``)."""
    for setting in settings:
        names = [setting.name] if setting.kind == "env" else []
        names += list(setting.env)
        variable = next((n for n in names if _HTTP_PORT_VAR.fullmatch(n)), None)
        port = _port_of_default(setting.default)
        if variable and port:
            return Guess(port, f"{setting.where} (default of the {variable} variable)")
    return None


def _port_of_default(default: str | None) -> str | None:
    port = re.fullmatch(r"(?:[\w.\[\]:-]*:)?(\d{1,5})", default or "")
    return port.group(1) if port and 0 < int(port.group(1)) < 65536 else None


#: An address variable under an application prefix (SHOP_HTTP_ADDR, MYAPP_LISTEN): the
#: part after the prefix must say it is the service's own (DB_ADDR is not).
_PREFIXED_ADDRESS = re.compile(
    r"[-_.](?:(?:http|https|web|server|listen|bind|api|public)[-_.](?:addr|address|port)|listen(?:[-_.]addr(?:ess)?)?"
    r"|bind[-_.]addr(?:ess)?)$",
    re.IGNORECASE,
)


#: A setting for another listener than the service's own (go-flags' --mgmt.listen, $PLUGIN_LISTEN).
_SECONDARY_SETTING = re.compile(
    r"metric|mgmt|manage|admin|debug|pprof|profil|health|plugin|grpc|telemetry|monitor|status|internal|prom",
    re.IGNORECASE,
)


def is_address_setting(setting: Setting) -> bool:
    """Whether a flag or variable sets the service's own listen address or port
    (``-addr``, ``--listen``, ``$HTTP_PORT``, ``$SHOP_HTTP_ADDR``; not ``-metrics-addr``
    or ``$DB_PORT``)."""
    names = [setting.name, *setting.env]
    if any(_SECONDARY_SETTING.search(n) for n in names):
        return False
    return any(_ADDRESS_FLAG.fullmatch(n) or _PREFIXED_ADDRESS.search(n) for n in names)


def address_setting(settings: list[Setting]) -> tuple[Setting, str] | None:
    """The first address or port flag or variable with a port in its default, and that port."""
    for setting in sorted(settings, key=_source_order):
        port = _port_of_default(setting.default)
        if is_address_setting(setting) and port:
            return setting, port
    return None


def _source_order(setting: Setting) -> tuple[str, int]:
    file, _, line = setting.where.rpartition(":")
    return file, int(line) if line.isdigit() else 0


def _env_default(text: str, match: re.Match[str], elsewhere: str = "") -> str | None:
    """The default given to the variable read at ``match``, only where the code ties
    it to that read; never just a number nearby."""
    after = text[match.end() :]
    # getenv("PORT", "8080"): a helper's second argument.
    if not match.group(0).startswith("os."):
        helper = re.match(r'\s*,\s*("(?::)?\d{1,5}"|\d{1,5}|[A-Za-z_][\w.]*)\s*[,)]', after)
        if helper:
            return port_value(helper.group(1), text, elsewhere=elsewhere)
        return None
    # cmp.Or(os.Getenv("PORT"), "8080")
    if re.search(r"\w*(?:Or|or|Default|default)\(\s*$", text[: match.start()]):
        either = re.match(r'\s*\)\s*,\s*("(?::)?\d{1,5}"|\d{1,5}|[A-Za-z_][\w.]*)\s*[,)]', after)
        if either:
            return port_value(either.group(1), text, elsewhere=elsewhere)
    # port := os.Getenv("PORT") ... if port == "" { port = "8080" }
    target = bound_name(text, match.start())
    if target is None:
        return None
    var = re.escape(target)
    window = text[match.end() : match.end() + 400]
    # ... port = "8080" or port = defaultPort (a constant)
    default = re.search(rf'(?<![\w.]){var}\s*=(?!=)\s*("(?::)?\d{{1,5}}"|[A-Za-z_][\w.]*)', window)
    if default:
        value = port_value(default.group(1), text, elsewhere=elsewhere)
        if value is not None:
            return value
    # port := "8080"; if p := os.Getenv("PORT"); p != "" { port = p }
    copied = re.search(rf"(?<![\w.])([A-Za-z_][\w.]*)\s*=(?!=)\s*{var}\b", window)
    if copied:
        value = port_value(copied.group(1), text, match.start(), elsewhere=elsewhere)
        if value is not None:
            return value
    return _returned_default(text, match.end(), target, elsewhere)


def _returned_default(text: str, after: int, var: str, elsewhere: str = "") -> str | None:
    """``if p := os.Getenv("PORT"); p != "" { return p }; return "3000"``: the literal
    (or constant) the same function returns when the variable is not set."""
    end = text.find("\nfunc ", after)
    window = text[after : min(after + 400, end if end != -1 else len(text))]
    for returned in re.finditer(r'\breturn\s+("(?::)?\d{1,5}"|\d{1,5}|[A-Za-z_]\w*)\s*(?:[\n;}]|$)', window):
        if returned.group(1) != var:
            return port_value(returned.group(1), text, elsewhere=elsewhere)
    return None


#: Import paths of HTTP servers: a service importing none of them speaks something else.
_HTTP_PACKAGES = re.compile(
    r'"(?:net/http|github\.com/(?:gin-gonic/gin|labstack/echo[^"]*|gofiber/fiber[^"]*|valyala/fasthttp'
    r'|go-chi/chi[^"]*|gorilla/mux|julienschmidt/httprouter|beego/beego[^"]*|kataras/iris[^"]*))"'
)


def speaks_http(sources: dict[str, str]) -> bool:
    """Whether the service imports an HTTP server package (net/http or a framework)."""
    return any(_HTTP_PACKAGES.search(strip_comments(text)) for text in sources.values())


def local_imports(source: str, module: str) -> list[str]:
    """Directories (relative to the module root) of module-local packages imported."""
    text = strip_comments(source)
    paths = list(_IMPORT_LINE.findall(text))
    for block in _IMPORT_BLOCK.findall(text):
        paths += re.findall(r'"([^"]+)"', block)
    prefix = module.rstrip("/") + "/"
    return sorted({p[len(prefix) :] for p in paths if p.startswith(prefix)})


def package_sources(module_root: Path, main: str, module: str, limit: int = 200) -> dict[str, str]:
    """Non-test .go files of the main package and of the module packages it
    imports (transitively, at most ``limit`` files), keyed by relative path."""
    sources: dict[str, str] = {}
    seen: set[str] = set()
    queue = [main.removeprefix("./").strip("/") or "."]
    while queue and len(sources) < limit:
        rel = queue.pop(0)
        if rel in seen:
            continue
        seen.add(rel)
        directory = module_root / rel
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.go")):
            if path.name.endswith("_test.go") or len(sources) >= limit:
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            sources[path.relative_to(module_root).as_posix()] = text
            queue += [p for p in local_imports(text, module) if p not in seen]
    return sources
