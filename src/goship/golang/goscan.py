"""Small lexical helpers over Go source text for ``goship init``'s guesses.

Not a Go parser: comments blanked out, brackets matched, call arguments
split, and a name's literal value looked up from its assignments. Enough
to follow ``":" + port`` or ``const addr = ":9100"`` back to a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

STRING = r'"(?:[^"\\\n]|\\.)*"|`[^`]*`'
_TOKEN = re.compile(rf"{STRING}|'(?:[^'\\\n]|\\.)*'|//[^\n]*|/\*.*?\*/", re.DOTALL)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_SKIP = re.compile(rf"{STRING}|'(?:[^'\\\n]|\\.)*'|[()\[\]{{}},]")
#: How deep a value is followed through names (``addr`` -> ``":" + port`` -> ``"8080"``).
_MAX_DEPTH = 4


@dataclass(frozen=True)
class Guess:
    """A value found in the sources and where: ``main.go:12``."""

    value: str
    evidence: str
    #: other candidates not taken, each "value (where)", for the user to check.
    others: tuple[str, ...] = ()


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def bound_name(text: str, call_start: int) -> str | None:
    """The variable a call's result is assigned to, on the call's line:
    ``x := flag.String(`` or ``v, ok = os.LookupEnv(`` -> ``x`` / ``v``."""
    line_start = text.rfind("\n", 0, call_start) + 1
    found = re.search(r"([A-Za-z_][\w.]*)(?:\s*,\s*\w+)?\s*:?=\s*$", text[line_start:call_start])
    return found.group(1) if found else None


def strip_comments(text: str) -> str:
    """Blank out // and /* */ comments, keeping offsets and strings intact."""
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        out.append(text[pos : match.start()])
        out.append(re.sub(r"[^\n]", " ", token) if token.startswith(("//", "/*")) else token)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def closing(text: str, open_index: int) -> int:
    """Index of the bracket closing ``text[open_index]`` (len(text) when unclosed)."""
    depth = 0
    for match in _SKIP.finditer(text, open_index):
        char = match.group(0)
        if char in _OPEN:
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return match.start()
    return len(text)


def split_args(inner: str) -> list[str]:
    """Top-level comma-separated parts of a call's arguments or a literal's body."""
    parts: list[str] = []
    depth = 0
    start = 0
    for match in _SKIP.finditer(inner):
        char = match.group(0)
        if char in _OPEN:
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start : match.start()].strip())
            start = match.end()
    tail = inner[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def call_args(text: str, open_index: int) -> list[str]:
    """Arguments of the call whose '(' is at ``open_index``."""
    return split_args(text[open_index + 1 : closing(text, open_index)])


def unquote(expr: str) -> str | None:
    """The content of a single Go string literal, else None."""
    expr = expr.strip()
    if re.fullmatch(STRING, expr):
        return expr[1:-1]
    return None


#: Import paths of the libraries that read options from struct tags.
OPTION_LIBRARIES = {
    # jessevdk/go-flags, or a fork of it (same tags, same package name).
    "go-flags": re.compile(r'"[\w.-]+/[\w.-]+/go-flags(?:/v\d+)?"'),
    "kong": re.compile(r'"github\.com/alecthomas/kong"'),
    "envconfig": re.compile(r'"github\.com/kelseyhightower/envconfig"'),
    "env": re.compile(r'"github\.com/caarlos0/env(?:/v\d+)?"'),
}
#: A flag bound to a variable or field: ``flag.StringVar(&cfg.Addr, "addr", ":8080", ...)``,
#: ``cmd.Flags().IntVarP(&port, "port", "p", 8080, ...)``; ``{name}`` is the bound name.
_VAR_FLAG = r"\.(?:String|Int|Int64|Int32|Uint|Uint64|Uint32)Var(?P<p>P)?\(\s*&\s*{name}\s*,"


def _flag_var_defaults(name: str, text: str) -> list[tuple[int, str]]:
    """(offset, default expression) of each flag bound to ``&name``."""
    found = []
    for match in re.finditer(_VAR_FLAG.format(name=name), text):
        args = call_args(text, text.index("(", match.start()))
        index = 3 if match.group("p") else 2
        if len(args) > index:
            found.append((match.start(), args[index]))
    return found


def _declared_elsewhere(name: str, text: str) -> list[tuple[int, str]]:
    """What another file declares for ``name``: a package-level const or var (also in a
    const/var block), and for ``x.Field`` a composite literal's ``Field: v``, a flag
    bound to ``&y.Field``, or the field's ``default``/``envDefault`` struct tag where an
    option library is imported. Never a function's local variable: another file's
    ``addr := ...`` is someone else's."""
    bare = re.escape(name.rsplit(".", 1)[-1])
    found: list[tuple[int, str]] = []
    declared = rf"(?<![\w.]){bare}(?:\s+[\w.*\[\]]+)?\s*=(?!=)\s*"
    for match in re.finditer(rf"(?m)^(?:const|var)\s+{declared}", text):
        found.append((match.start(), _expression_at(text, match.end())))
    for block in re.finditer(r"(?m)^(?:const|var)\s*\(", text):
        end = closing(text, block.end() - 1)
        for match in re.finditer(rf"(?m)^\s*{declared}", text[block.end() : end]):
            start = block.end() + match.end()
            found.append((start, _expression_at(text, start)))
    if "." in name:
        fields: list[tuple[int, str]] = []
        for match in re.finditer(rf"(?<![\w.]){bare}\s*:\s*(?=[\"`\w])", text):
            fields.append((match.start(), _expression_at(text, match.end())))
        fields += _flag_var_defaults(rf"[\w.]*\b{bare}", text)
        if any(library.search(text) for library in OPTION_LIBRARIES.values()):
            for match in re.finditer(
                rf'(?m)^\s*{bare}\s+[\w.*\[\]]+\s+`[^`\n]*?\b(?:default|envDefault):"([^"]*)"', text
            ):
                fields.append((match.start(), '"' + match.group(1) + '"'))
        # A field is known by its name alone here: only when the module sets it one way
        # (two structs with an Addr, or Address: set from two places, say nothing).
        fields = [(at, value) for at, value in fields if value.lstrip("*&") != name]
        if len({value for _, value in fields}) == 1:
            found += fields
    return sorted(found)


def assigned_values(name: str, text: str, before: int | None = None, elsewhere: str = "") -> Iterator[str]:
    """Right-hand sides assigned to ``name`` (``x := v``, ``x = v``, ``var x T = v``,
    a const block's ``x = v``, a composite literal's ``Field: v`` for ``a.Field``, or
    the default of a flag bound to ``&name``), those before ``before`` nearest first,
    then the rest; then what the other files of the module (``elsewhere``) declare
    for it at package level (``config.DefaultAddr``, ``cfg.Addr``)."""
    simple = re.escape(name)
    patterns = [rf"(?<![\w.])(?:var\s+|const\s+)?{simple}(?:\s+[\w.*\[\]]+)?\s*:?=(?!=)\s*"]
    if "." in name:
        patterns.append(rf"(?<![\w.]){re.escape(name.rsplit('.', 1)[1])}\s*:\s*(?=[\"`\d])")
    found: list[tuple[int, str]] = []
    for pattern in patterns:
        for match in re.finditer(pattern, text):
            found.append((match.start(), _expression_at(text, match.end())))
    found += _flag_var_defaults(simple, text)
    if before is not None:
        earlier = sorted((f for f in found if f[0] < before), key=lambda f: -f[0])
        later = sorted(f for f in found if f[0] >= before)
        found = earlier + later
    if elsewhere:
        found += _declared_elsewhere(name, elsewhere)
    for _, value in found:
        if value:
            yield value


def _expression_at(text: str, start: int) -> str:
    """The expression starting at ``start``: up to a top-level ',', ';', newline or
    closing bracket."""
    depth = 0
    pos = start
    for match in re.compile(rf"{STRING}|[()\[\]{{}},;\n]").finditer(text, start):
        char = match.group(0)
        pos = match.start()
        if char in _OPEN:
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return text[start:pos].strip()
            depth -= 1
        elif char in ",;\n" and depth == 0:
            return text[start:pos].strip()
        pos = match.end()
    return text[start:].strip()


def _valid_port(digits: str) -> str | None:
    return digits if 0 < int(digits) < 65536 else None


_FLAG_DEFINITION = re.compile(
    r"(?:[A-Za-z_][\w.]*(?:\(\))?(?:\.\w+\(\))?\.)?(?:String|Int|Int64|Int32|Uint|Uint64|Uint32)(?P<var>Var)?(?P<p>P)?"
    r"\((?P<args>.*)\)",
    re.DOTALL,
)
#: A helper reading a variable with a default: ``getenv("ADDR", ":8080")``, ``envOr(...)``.
_ENV_HELPER = re.compile(r"(?:[A-Za-z_]\w*\.)?\w*(?:[eE]nv|ENV)\w*\((?P<args>.*)\)", re.DOTALL)


def default_of_call(expr: str) -> str | None:
    """The default argument of a flag definition (``flag.String("addr", ":8080", ...)``,
    ``fs.IntVarP(&p, "port", "p", 8080, ...)``) or of an environment helper
    (``getenv("ADDR", ":8080")``); None for any other expression."""
    flag = _FLAG_DEFINITION.fullmatch(expr)
    if flag:
        args = split_args(flag.group("args"))
        index = 1 + bool(flag.group("var")) + bool(flag.group("p"))
        if len(args) == index + 2 and unquote(args[index - 1 - bool(flag.group("p"))]) is not None:
            return args[index]
        return None
    helper = _ENV_HELPER.fullmatch(expr)
    if helper and not expr.startswith(("os.", "syscall.")):
        args = split_args(helper.group("args"))
        if len(args) == 2 and unquote(args[0]) is not None:
            return args[1]
    return None


def port_of_addr(
    expr: str, text: str, before: int | None = None, depth: int = 0, elsewhere: str = ""
) -> str | None:
    """The port of a listen address expression: ``":8080"``, ``"0.0.0.0:80"``,
    ``":" + port``, ``fmt.Sprintf(":%d", port)``, ``net.JoinHostPort(h, port)``,
    ``*addr`` (a flag), or a name assigned one of these."""
    expr = expr.strip()
    if depth > _MAX_DEPTH or not expr:
        return None
    literal = unquote(expr)
    if literal is not None:
        match = re.fullmatch(r"[\w.\[\]:-]*:(\d{1,5})", literal)
        return _valid_port(match.group(1)) if match else None
    concat = re.fullmatch(rf'({STRING})\s*\+\s*(.+)', expr, re.DOTALL)
    if concat and (unquote(concat.group(1)) or "").endswith(":"):
        return port_value(concat.group(2), text, before, depth + 1, elsewhere)
    # host + ":8080": the port is in the literal at the end.
    tail = re.fullmatch(rf"[\w.()]+\s*\+\s*({STRING})", expr)
    if tail:
        match = re.fullmatch(r":(\d{1,5})", unquote(tail.group(1)) or "")
        return _valid_port(match.group(1)) if match else None
    sprintf = re.fullmatch(r'fmt\.Sprintf\(\s*"[^"]*:%[dsv]"\s*,\s*(.+)\)', expr, re.DOTALL)
    if sprintf:
        return port_value(sprintf.group(1), text, before, depth + 1, elsewhere)
    join = re.fullmatch(r"net\.JoinHostPort\((.*)\)", expr, re.DOTALL)
    if join:
        args = split_args(join.group(1))
        return port_value(args[1], text, before, depth + 1, elsewhere) if len(args) == 2 else None
    default = default_of_call(expr)
    if default is not None:
        return port_of_addr(default, text, before, depth + 1, elsewhere)
    either = re.fullmatch(r"cmp\.Or\((.*)\)", expr, re.DOTALL)
    if either:
        for arg in split_args(either.group(1)):
            port = port_of_addr(arg, text, before, depth + 1, elsewhere)
            if port is not None:
                return port
        return None
    name = re.fullmatch(r"[*&]?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)", expr)
    if name:
        for value in assigned_values(name.group(1), text, before, elsewhere):
            port = port_of_addr(value, text, before, depth + 1, elsewhere)
            if port is not None:
                return port
    return None


def port_value(
    expr: str, text: str, before: int | None = None, depth: int = 0, elsewhere: str = ""
) -> str | None:
    """A port number expression: ``"8080"``, ``8080``, ``strconv.Itoa(8080)``,
    ``cmp.Or(os.Getenv("PORT"), "8080")`` or a name assigned one of these."""
    expr = expr.strip()
    if depth > _MAX_DEPTH or not expr:
        return None
    literal = unquote(expr)
    if literal is not None:
        match = re.fullmatch(r":?(\d{1,5})", literal)
        return _valid_port(match.group(1)) if match else None
    if re.fullmatch(r"\d{1,5}", expr):
        return _valid_port(expr)
    wrapped = re.fullmatch(r"(?:strconv\.Itoa|fmt\.Sprint|string)\((.*)\)", expr, re.DOTALL)
    if wrapped:
        return port_value(wrapped.group(1), text, before, depth + 1, elsewhere)
    either = re.fullmatch(r"cmp\.Or\((.*)\)", expr, re.DOTALL)
    if either:
        for arg in split_args(either.group(1)):
            port = port_value(arg, text, before, depth + 1, elsewhere)
            if port is not None:
                return port
        return None
    default = default_of_call(expr)
    if default is not None:
        return port_value(default, text, before, depth + 1, elsewhere)
    name = re.fullmatch(r"[*&]?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)", expr)
    if name:
        for value in assigned_values(name.group(1), text, before, elsewhere):
            port = port_value(value, text, before, depth + 1, elsewhere)
            if port is not None:
                return port
    return None


def host_of_addr(
    expr: str, text: str, before: int | None = None, depth: int = 0, elsewhere: str = ""
) -> str | None:
    """The host of a listen address expression when the code fixes it: "127.0.0.1"
    for ``"127.0.0.1:8080"``, ``"localhost:" + port`` or a name assigned one; None
    when the host is empty (all interfaces) or not known."""
    expr = expr.strip()
    if depth > _MAX_DEPTH or not expr:
        return None
    literal = unquote(expr)
    if literal is not None:
        match = re.fullmatch(r"([\w.\[\]:-]*):\d{0,5}", literal)
        return (match.group(1) or None) if match else None
    concat = re.fullmatch(rf'({STRING})\s*\+', expr[: expr.find("+") + 1] if "+" in expr else "", re.DOTALL)
    if concat:
        prefix = unquote(concat.group(1)) or ""
        return (prefix[:-1] or None) if prefix.endswith(":") else None
    sprintf = re.fullmatch(r'fmt\.Sprintf\(\s*"([^"%]*):%[dsv]"\s*,.*\)', expr, re.DOTALL)
    if sprintf:
        return sprintf.group(1) or None
    join = re.fullmatch(r"net\.JoinHostPort\((.*)\)", expr, re.DOTALL)
    if join:
        args = split_args(join.group(1))
        return (unquote(args[0]) or None) if len(args) == 2 else None
    name = re.fullmatch(r"[*&]?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)", expr)
    if name:
        for value in assigned_values(name.group(1), text, before, elsewhere):
            if port_of_addr(value, text, before, depth + 1, elsewhere) is not None:
                return host_of_addr(value, text, before, depth + 1, elsewhere)
    return None


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from the same machine (container) only."""
    if not host:
        return False
    host = host.strip("[]").lower()
    return host in ("localhost", "::1") or re.fullmatch(r"127(?:\.\d{1,3}){3}", host) is not None
