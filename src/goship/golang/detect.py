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
from goship.golang.settings import find_settings

__all__ = ["DEFAULT_PORT", "HEALTH_PATHS", "Guess", "guess_health_path", "guess_port", "local_imports", "package_sources", "speaks_http"]

DEFAULT_PORT = 8080

_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_IMPORT_LINE = re.compile(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', re.MULTILINE)

# An environment variable read: os.Getenv("PORT"), os.LookupEnv, or a helper
# such as getenv("PORT", "8080") / envOr("PORT", "8080").
_ENV_CALL = re.compile(r'(?<![\w])(?:os\.(?:Getenv|LookupEnv)|\w*[eE]nv\w*)\(\s*"(?P<name>\w+)"')
#: Only these name the HTTP port; DB_PORT, REDIS_PORT... are someone else's.
_HTTP_PORT_VAR = re.compile(r"(?:HTTP_|APP_|LISTEN_|SERVER_|WEB_|SERVICE_|API_)?PORT")
# A struct tag read by caarlos0/env or envconfig: `env:"PORT" envDefault:"8080"`.
_ENV_TAG = re.compile(
    r'`[^`]*\b(?:env|envconfig):"(?P<name>\w+)"[^`]*\b(?:envDefault|default):"(?::)?(?P<port>\d{1,5})"[^`]*`'
)
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
    router, not a metrics or pprof port), then an address or port flag.
    Other listen ports found are listed in ``others``.
    """
    texts = {name: strip_comments(raw) for name, raw in sorted(sources.items())}
    listeners = find_listeners(sources)
    chosen: Guess | None = None
    for name, text in texts.items():
        found = _port_from_env(text)
        if found is not None:
            port, offset, how = found
            chosen = Guess(port, f"{name}:{line_of(text, offset)} ({how})")
            break
    if chosen is None and listeners:
        best = listeners[0]
        chosen = Guess(best.port, f"{best.where} (listen address)")
    if chosen is None:
        for name, text in texts.items():
            flagged = _port_from_flag(name, text)
            if flagged is not None:
                port, where, how = flagged
                chosen = Guess(port, f"{where} ({how})")
                break
    if chosen is None:
        return None
    others: dict[str, str] = {}
    for item in listeners:
        if item.port != chosen.value and item.port not in others:
            others[item.port] = f"{item.port} ({item.where})"
    return Guess(chosen.value, chosen.evidence, tuple(others.values()))


def _port_from_env(text: str) -> tuple[str, int, str] | None:
    for match in _ENV_CALL.finditer(text):
        name = match.group("name")
        if not _HTTP_PORT_VAR.fullmatch(name):
            continue
        port = _env_default(text, match)
        if port is not None:
            return port, match.start(), f"default of the {name} variable"
    for match in _ENV_TAG.finditer(text):
        if _HTTP_PORT_VAR.fullmatch(match.group("name")) and 0 < int(match.group("port")) < 65536:
            return match.group("port"), match.start(), f"default of the {match.group('name')} variable"
    return None


def _env_default(text: str, match: re.Match[str]) -> str | None:
    """The default given to the variable read at ``match``, only where the code ties
    it to that read; never just a number nearby."""
    after = text[match.end() :]
    # getenv("PORT", "8080"): a helper's second argument.
    if not match.group(0).startswith("os."):
        helper = re.match(r'\s*,\s*("(?::)?\d{1,5}"|\d{1,5})\s*[,)]', after)
        if helper:
            return port_value(helper.group(1), text)
        return None
    # cmp.Or(os.Getenv("PORT"), "8080")
    if re.search(r"\w*(?:Or|or|Default|default)\(\s*$", text[: match.start()]):
        either = re.match(r'\s*\)\s*,\s*("(?::)?\d{1,5}"|\d{1,5})\s*[,)]', after)
        if either:
            return port_value(either.group(1), text)
    # port := os.Getenv("PORT") ... if port == "" { port = "8080" }
    target = bound_name(text, match.start())
    if target is None:
        return None
    var = re.escape(target)
    window = text[match.end() : match.end() + 400]
    # ... port = "8080" or port = defaultPort (a constant)
    default = re.search(rf'(?<![\w.]){var}\s*=(?!=)\s*("(?::)?\d{{1,5}}"|[A-Za-z_][\w.]*)', window)
    if default:
        value = port_value(default.group(1), text)
        if value is not None:
            return value
    # port := "8080"; if p := os.Getenv("PORT"); p != "" { port = p }
    copied = re.search(rf"(?<![\w.])([A-Za-z_][\w.]*)\s*=(?!=)\s*{var}\b", window)
    if copied:
        value = port_value(copied.group(1), text, match.start())
        if value is not None:
            return value
    return _returned_default(text, match.end(), target)


def _returned_default(text: str, after: int, var: str) -> str | None:
    """``if p := os.Getenv("PORT"); p != "" { return p }; return "3000"``: the literal
    (or constant) the same function returns when the variable is not set."""
    end = text.find("\nfunc ", after)
    window = text[after : min(after + 400, end if end != -1 else len(text))]
    for returned in re.finditer(r'\breturn\s+("(?::)?\d{1,5}"|\d{1,5}|[A-Za-z_]\w*)\s*(?:[\n;}]|$)', window):
        if returned.group(1) != var:
            return port_value(returned.group(1), text)
    return None


def _port_from_flag(name: str, text: str) -> tuple[str, str, str] | None:
    """(port, where, how) of the first address or port flag with a port default."""
    for setting in find_settings({name: text}):
        if setting.kind != "flag" or not _ADDRESS_FLAG.fullmatch(setting.name) or not setting.default:
            continue
        port = re.fullmatch(r"(?:[\w.\[\]-]*:)?(\d{1,5})", setting.default)
        if port and 0 < int(port.group(1)) < 65536:
            return port.group(1), setting.where, f"default of the -{setting.name} flag"
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
