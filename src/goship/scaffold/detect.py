"""Guesses ``goship init`` makes from a service's Go sources: port and health path.

Pure functions over source text (``guess_port``, ``guess_health_path``) plus
``package_sources``, which reads the main package and the module-local
packages it imports. Regular expressions, not a Go parser: a guess only
pre-fills goship.yaml, and each one says where it came from so the user can
check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: Health endpoints goship recognises, in order of preference.
HEALTH_PATHS = ("/healthz", "/health", "/readyz", "/ping")
DEFAULT_PORT = 8080

_STRING = r'"(?:[^"\\\n]|\\.)*"|`[^`]*`'
_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_IMPORT_LINE = re.compile(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', re.MULTILINE)

# os.Getenv("PORT") (or LookupEnv) and, shortly after, a default of digits:
# `if port == "" { port = "8080" }`, `cmp.Or(os.Getenv("PORT"), "8080")`,
# `getenv("PORT", "8080")`.
_PORT_ENV = re.compile(r'(?:Getenv|LookupEnv|getenv|envOr\w*|env\w*)\(\s*"(?:\w+_)?PORT"')
_PORT_ENV_DEFAULT = re.compile(r'"(?::)?(\d{2,5})"')
# A listen address literal in a Listen* call or an http.Server{Addr: ...}.
_LISTEN = re.compile(
    r'(?:ListenAndServe(?:TLS)?|Listen|Addr\s*:|Addr\s*=)\s*\(?\s*(?:"tcp\w?"\s*,\s*)?"[\w.\[\]:-]*:(\d{2,5})"'
)
# flag.String("addr", ":9000", ...), flag.Int("port", 9000, ...).
_FLAG_ADDR = re.compile(
    r'flag\.(?:String|StringVar)\((?:[^,]+,\s*)?"(?:addr|address|listen|http[-_.]?addr|port)"\s*,\s*"[\w.\[\]-]*:?(\d{2,5})"'
)
_FLAG_PORT = re.compile(r'flag\.(?:Int|IntVar)\((?:[^,]+,\s*)?"(?:port|http[-_.]?port)"\s*,\s*(\d{2,5})\b')
# mux.HandleFunc("/healthz", ...), mux.Handle("GET /healthz", ...), r.Get("/ping", ...).
_HANDLER = re.compile(r'\.\s*\w+\(\s*"(?:[A-Z]+\s+)?(?:[\w.-]+)?(/[\w./-]*?)/?(?:\{\$\})?"\s*,')


@dataclass(frozen=True)
class Guess:
    """A value found in the sources and where: ``main.go:12``."""

    value: str
    evidence: str


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _strip_comments(text: str) -> str:
    """Blank out // and /* */ comments (keeping offsets and strings intact)."""
    out = []
    pos = 0
    pattern = re.compile(rf"{_STRING}|//[^\n]*|/\*.*?\*/", re.DOTALL)
    for match in pattern.finditer(text):
        token = match.group(0)
        out.append(text[pos : match.start()])
        if token.startswith(("//", "/*")):
            out.append(re.sub(r"[^\n]", " ", token))
        else:
            out.append(token)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def guess_port(sources: dict[str, str]) -> Guess | None:
    """The port the service listens on, from {file name: Go source}.

    A ``PORT`` variable's default comes first (goship sets PORT when it
    deploys, so matching its default keeps ``go run`` and the container
    alike), then a literal listen address, then an address or port flag.
    """
    for finder in (_port_from_env, _port_from_listen, _port_from_flag):
        for name, raw in sorted(sources.items()):
            text = _strip_comments(raw)
            found = finder(text)
            if found is not None:
                port, offset, how = found
                if 0 < int(port) < 65536:
                    return Guess(port, f"{name}:{_line_of(text, offset)} ({how})")
    return None


def _port_from_env(text: str) -> tuple[str, int, str] | None:
    for match in _PORT_ENV.finditer(text):
        window = text[match.end() : match.end() + 300]
        default = _PORT_ENV_DEFAULT.search(window)
        if default:
            return default.group(1), match.start(), "default of the PORT variable"
    return None


def _port_from_listen(text: str) -> tuple[str, int, str] | None:
    match = _LISTEN.search(text)
    return (match.group(1), match.start(), "listen address") if match else None


def _port_from_flag(text: str) -> tuple[str, int, str] | None:
    match = _FLAG_ADDR.search(text) or _FLAG_PORT.search(text)
    return (match.group(1), match.start(), "flag default") if match else None


def guess_health_path(sources: dict[str, str]) -> Guess | None:
    """The first of HEALTH_PATHS that a handler is registered for."""
    found: dict[str, Guess] = {}
    for name, raw in sorted(sources.items()):
        text = _strip_comments(raw)
        for match in _HANDLER.finditer(text):
            path = match.group(1)
            if path in HEALTH_PATHS and path not in found:
                found[path] = Guess(path, f"{name}:{_line_of(text, match.start())}")
    for path in HEALTH_PATHS:
        if path in found:
            return found[path]
    return None


def local_imports(source: str, module: str) -> list[str]:
    """Directories (relative to the module root) of module-local packages imported."""
    text = _strip_comments(source)
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
