"""The flags and environment variables a service reads, and which it cannot start without.

``goship init`` lists them in goship.yaml so a service that needs ``-text=...``
or ``$GREETING`` to start is one edited line away from serving, not a failed
deploy away from finding out. Recognised:

- the standard library's flag package and pflag/cobra: ``flag.String("name",
  default, usage)``, the ``Var`` forms (``flag.StringVar(&v, ...)``), the ``P``
  forms with a shorthand (``cmd.Flags().StringVarP(&v, "name", "n", ...)``), on
  ``flag``, a FlagSet or ``Flags()``/``PersistentFlags()``;
- ``os.Getenv``/``os.LookupEnv``, helpers named like ``getenv("X", "default")``
  or ``mustEnv("X")``;
- struct tags of the option libraries the module imports (``structtags``: go-flags,
  kong, envconfig, caarlos0/env).

A default that is a name is followed to its value: a constant (typed or not,
in a const block, in another file of the package) or another package's
(``config.DefaultAddr``).

A setting is *required* when the code checks it is empty and then exits
(``if *text == "" { log.Fatal(...) }``, ``if !ok { os.Exit(1) }``, a returned
error), a helper is named must/require, a tag says required, or cobra marks
the flag required. A check that runs only under another condition (inside an
``if``, ``else``, ``switch`` or loop: ``if *cert != "" || *key != "" { if *cert ==
"" || *key == "" {...} }``, or ``if *tls { ... }``) does not make a flag
required, nor does one whose help text pairs it with another ("both or
neither"): such a flag is needed only with its partner. Pure: source text in,
settings out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from goship.golang.goscan import (
    STRING,
    assigned_values,
    bound_name,
    call_args,
    closing,
    line_of,
    strip_comments,
    unquote,
)
from goship.golang.structtags import tag_options

__all__ = ["Setting", "all_settings", "find_settings"]

#: Set by goship itself; never the user's to fill in.
_GOSHIP_SETS = {"PORT"}

_FLAG_KINDS = (
    "String|Int|Int64|Int32|Uint|Uint64|Uint32|Bool|Duration|Float64|Float32"
    "|StringSlice|StringArray|IntSlice|StringToString|Func|BoolFunc|TextVar"
)
_FLAG_CALL = re.compile(
    rf"(?<![\w.])(?P<recv>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?(?:\.[A-Za-z_]\w*\(\))?)"
    rf"\.(?P<kind>{_FLAG_KINDS})(?P<var>Var)?(?P<p>P)?\("
)
_ENV_CALL = re.compile(
    r"(?<![\w.])(?:os\.(?P<os>Getenv|LookupEnv)|(?P<helper>[A-Za-z_]\w*\.)?(?P<name>\w*(?:[eE]nv|ENV)\w*))"
    r"\(\s*\"(?P<var>[A-Za-z_]\w*)\""
)
_MARK_REQUIRED = re.compile(r'\.Mark(?:Persistent)?FlagRequired\(\s*"(?P<name>[\w-]+)"')
#: What a failed check does when the service cannot go on.
_EXITS = re.compile(
    r"\.(?:Fatal|Fatalf|Fatalln|Panic|Panicf|Panicln)\(|\bos\.Exit\(|\bpanic\(|\bflag\.Usage\(\)"
    r"|\breturn\b[^\n]*(?:\berr\b|Err|errors\.New|fmt\.Errorf)"
)
_IF = re.compile(r"\bif\s+(?P<cond>[^{};]*(?:;[^{}]*)?)\{")
#: A block and what opens it: code in any but a function's own body runs only sometimes.
_BLOCK = re.compile(r"\b(?P<kind>if|else|switch|for|select|func)\b[^{};]*(?:;[^{};]*)*\{")
#: Help text saying a flag goes with another: it is needed only with its partner.
_PAIRED = re.compile(
    r"both\b.{0,60}\bor neither|neither or both|(?:together|along) with|\brequires? (?:the )?-{1,2}\w"
    r"|\bonly with -{1,2}\w|\bused with -{1,2}\w",
    re.IGNORECASE,
)
#: A variable holding a flag set: ``fs := flag.NewFlagSet(...)``, ``f := cmd.Flags()``.
_FLAG_SET = re.compile(
    r"(?<![\w.])(?P<var>[A-Za-z_]\w*)\s*:?=\s*(?:(?P<pflag>[\w.]*(?:\bFlags|PersistentFlags|LocalFlags)\(\)"
    r"|pflag\.NewFlagSet\()|flag\.NewFlagSet\()"
)
_PFLAG_AS_FLAG = re.compile(r'\bflag\s+"github\.com/spf13/pflag"')


@dataclass(frozen=True)
class Setting:
    """A flag or environment variable the service reads."""

    kind: str  # "flag" or "env"
    name: str
    #: the flag's type ("string", "int", "bool", "duration"...); "" for a variable.
    type: str
    #: the default as a Go literal would give it (unquoted); None when there is none.
    default: str | None
    #: where it is read: "main.go:12".
    where: str
    #: where the code exits without it: "main.go:15"; "" when it is optional.
    required: str = ""
    #: how the flag is written: "-" (Go's flag package) or "--" (pflag, cobra, go-flags, kong).
    dashes: str = "-"
    #: variables that set it too (a go-flags/kong option's env; envconfig's unprefixed name).
    env: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.dashes}{self.name}" if self.kind == "flag" else f"${self.name}"

    @property
    def described(self) -> str:
        """The label with the variables that set it too: ``--listen / $LISTEN``."""
        return " / ".join([self.label, *(f"${name}" for name in self.env)])


def _literal(expr: str) -> str | None:
    expr = expr.strip()
    text = unquote(expr)
    if text is not None:
        return text
    if re.fullmatch(r"-?\d+(?:\.\d+)?|true|false", expr):
        return expr
    duration = re.fullmatch(r"(\d+)\s*\*\s*time\.(Second|Minute|Millisecond|Hour)", expr)
    if duration:
        unit = {"Second": "s", "Minute": "m", "Millisecond": "ms", "Hour": "h"}[duration.group(2)]
        return duration.group(1) + unit
    return None


def _checks(text: str, subject: str, negated: bool = False) -> int | None:
    """Offset of an ``if`` that finds ``subject`` empty and exits, else None."""
    subject_re = re.escape(subject)
    empty = (
        rf"(?:\*?{subject_re}\s*==\s*(?:\"\"|``|0|nil)|(?:\"\"|0)\s*==\s*\*?{subject_re}"
        rf"|len\(\s*\*?{subject_re}\s*\)\s*(?:==\s*0|<\s*1))"
    )
    if negated:
        empty = rf"(?:{empty}|!\s*{subject_re})"
    for match in _IF.finditer(text):
        cond = match.group("cond").rsplit(";", 1)[-1]
        if not any(re.fullmatch(rf"\s*\(?\s*{empty}\s*\)?\s*", part) for part in re.split(r"\|\|", cond)):
            continue
        brace = match.end() - 1
        if _EXITS.search(text[brace : closing(text, brace)]) and not _conditional(text, match.start()):
            return match.start()
    return None


def _conditional(text: str, offset: int) -> bool:
    """Whether the code at ``offset`` runs only under a condition: its innermost
    enclosing block is an if/else/switch/loop body, not a function's own."""
    kind = ""
    for match in _BLOCK.finditer(text, 0, offset):
        if closing(text, match.end() - 1) > offset:
            kind = match.group("kind")
    return kind not in ("", "func")


def _resolved(expr: str, text: str, before: int, elsewhere: str, depth: int = 0) -> str | None:
    """A default's value: a literal, or a constant or variable followed to one (in
    this file, else declared at package level in another: ``config.DefaultAddr``),
    through ``strconv.Itoa``, ``fmt.Sprintf(":%d", x)`` and ``":" + x``."""
    expr = expr.strip()
    literal = _literal(expr)
    if literal is not None or depth > 4:
        return literal
    wrapped = re.fullmatch(r"(?:strconv\.Itoa|fmt\.Sprint|string)\((.*)\)", expr, re.DOTALL)
    if wrapped:
        return _resolved(wrapped.group(1), text, before, elsewhere, depth + 1)
    sprintf = re.fullmatch(r'fmt\.Sprintf\(\s*"([^"%]*)%[dsv]([^"%]*)"\s*,\s*(.+)\)', expr, re.DOTALL)
    if sprintf:
        inner = _resolved(sprintf.group(3), text, before, elsewhere, depth + 1)
        return None if inner is None else sprintf.group(1) + inner + sprintf.group(2)
    concat = re.fullmatch(rf"({STRING}|[\w.]+)\s*\+\s*({STRING}|[\w.()]+)", expr)
    if concat:
        left = _resolved(concat.group(1), text, before, elsewhere, depth + 1)
        right = _resolved(concat.group(2), text, before, elsewhere, depth + 1)
        return None if left is None or right is None else left + right
    if re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?", expr) and expr not in ("true", "false", "nil"):
        for value in assigned_values(expr, text, before, elsewhere):
            found = _resolved(value, text, before, elsewhere, depth + 1)
            if found is not None:
                return found
    return None


def _flag_sets(text: str) -> dict[str, str]:
    """{variable: dashes} of the flag sets assigned to variables in ``text``."""
    pflag_as_flag = bool(_PFLAG_AS_FLAG.search(text))
    return {
        match.group("var"): "--" if match.group("pflag") or pflag_as_flag else "-"
        for match in _FLAG_SET.finditer(text)
    }


def _dashes(recv: str, text: str, sets: dict[str, str]) -> str:
    """How a flag defined on ``recv`` is written: pflag (cobra's Flags(), pflag, or
    the flag package name bound to pflag) takes ``--name``; Go's flag takes ``-name``."""
    if recv in sets:
        return sets[recv]
    if "Flags()" in recv or recv.startswith("pflag") or (recv == "flag" and _PFLAG_AS_FLAG.search(text)):
        return "--"
    return "-"


def _ok_name(text: str, call_start: int) -> str | None:
    """The ``ok`` of ``v, ok := os.LookupEnv(...)``."""
    line_start = text.rfind("\n", 0, call_start) + 1
    found = re.search(r"[A-Za-z_][\w.]*\s*,\s*(\w+)\s*:?=\s*$", text[line_start:call_start])
    return found.group(1) if found else None


def _flags(file: str, text: str, elsewhere: str = "") -> list[Setting]:
    found: list[Setting] = []
    sets = _flag_sets(text)
    for match in _FLAG_CALL.finditer(text):
        recv = match.group("recv")
        if not (recv.endswith("fs") or "flag" in recv.lower() or recv in sets):  # flag, a FlagSet, cmd.Flags()
            continue
        args = call_args(text, match.end() - 1)
        var, shorthand = bool(match.group("var")), bool(match.group("p"))
        kind = match.group("kind")
        name_at = 1 if var else 0
        wanted = name_at + (2 if kind in ("Func", "BoolFunc") else 3) + (1 if shorthand else 0)
        if len(args) != wanted:
            continue
        name = unquote(args[name_at])
        if not name or not re.fullmatch(r"[\w.-]+", name):
            continue
        default = (
            None if kind in ("Func", "BoolFunc", "TextVar")
            else _resolved(args[name_at + 1 + shorthand], text, match.start(), elsewhere)
        )
        subject = args[0].lstrip("&") if var else bound_name(text, match.start())
        usage = unquote(args[-1]) or ""
        # A default that is not empty satisfies the check: only a flag without one must be
        # given; and one the help text pairs with another is needed only with its partner.
        required = (
            _checks(text, subject) if subject and default in (None, "", "0") and not _PAIRED.search(usage) else None
        )
        found.append(Setting(
            "flag", name, kind.lower(), default, f"{file}:{line_of(text, match.start())}",
            f"{file}:{line_of(text, required)}" if required is not None else "",
            dashes=_dashes(recv, text, sets),
        ))
    return found


def _envs(file: str, text: str, elsewhere: str = "") -> list[Setting]:
    found: list[Setting] = []
    for match in _ENV_CALL.finditer(text):
        name = match.group("var")
        helper = match.group("name") or ""
        if match.group("os") is None and (
            not helper or helper in ("Setenv", "Unsetenv") or match.group("helper") in ("os.", "syscall.")
        ):
            continue
        args = call_args(text, text.index("(", match.start()))
        default = _resolved(args[1], text, match.start(), elsewhere) if helper and len(args) == 2 else None
        where = f"{file}:{line_of(text, match.start())}"
        required_at: int | None = None
        if helper and re.search(r"must|require", helper, re.IGNORECASE):
            required_at = match.start()
        else:
            subject = bound_name(text, match.start())
            if subject:
                required_at = _checks(text, subject)
                ok = _ok_name(text, match.start()) if match.group("os") == "LookupEnv" else None
                if required_at is None and ok:
                    required_at = _checks(text, ok, negated=True)
                if default is None:
                    default = _env_default(text, subject, match.end())
            # if os.Getenv("X") == "" { log.Fatal(...) }
            call = text[match.start() : closing(text, text.index("(", match.start())) + 1]
            if required_at is None:
                required_at = _checks(text, call)
        found.append(Setting(
            "env", name, "", default, where,
            f"{file}:{line_of(text, required_at)}" if required_at is not None and default is None else "",
        ))
    return found


def _env_default(text: str, subject: str, after: int) -> str | None:
    """``if v == "" { v = "x" }`` right after the read: the default is "x"."""
    window = text[after : after + 300]
    found = re.search(
        rf'if\s+{re.escape(subject)}\s*==\s*""\s*\{{\s*{re.escape(subject)}\s*=\s*({STRING})', window
    )
    return unquote(found.group(1)) if found else None


def _from_tags(texts: dict[str, str]) -> list[Setting]:
    settings = []
    for option in tag_options(texts):
        required = option.where if option.required and option.default in (None, "") else ""
        if option.flag:
            settings.append(Setting(
                "flag", option.flag, option.type, option.default, option.where, required, option.dashes, option.env
            ))
        else:
            settings.append(Setting(
                "env", option.env[0], "", option.default, option.where, required, env=option.env[1:]
            ))
    return settings


def find_settings(sources: dict[str, str]) -> list[Setting]:
    """The flags and variables read in ``sources`` ({file: Go source}): required
    ones first, then in source order; each once; PORT (goship sets it) left out."""
    return [s for s in all_settings(sources) if not (s.kind == "env" and s.name in _GOSHIP_SETS)]


def all_settings(sources: dict[str, str]) -> list[Setting]:
    """``find_settings`` with PORT too (its default is the service's port)."""
    settings: dict[tuple[str, str], Setting] = {}
    marked: dict[str, str] = {}
    texts = {file: strip_comments(raw) for file, raw in sorted(sources.items())}
    elsewhere = "\n".join(texts.values())
    by_file: dict[str, list[Setting]] = {}
    for setting in _from_tags(texts):
        by_file.setdefault(setting.where.rsplit(":", 1)[0], []).append(setting)
    for file, text in texts.items():
        for setting in _flags(file, text, elsewhere) + _envs(file, text, elsewhere) + by_file.get(file, []):
            key = (setting.kind, setting.name)
            known = settings.get(key)
            if known is None:
                settings[key] = setting
            elif setting.required and not known.required:
                settings[key] = replace(known, required=setting.required)
        for match in _MARK_REQUIRED.finditer(text):
            marked.setdefault(match.group("name"), f"{file}:{line_of(text, match.start())}")
    for name, where in marked.items():
        known = settings.get(("flag", name))
        if known is not None and not known.required:
            settings[("flag", name)] = replace(known, required=where)
    ordered = list(settings.values())
    return [s for s in ordered if s.required] + [s for s in ordered if not s.required]
