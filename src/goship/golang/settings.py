"""The flags and environment variables a service reads, and which it cannot start without.

``goship init`` lists them in goship.yaml so a service that needs ``-text=...``
or ``$GREETING`` to start is one edited line away from serving, not a failed
deploy away from finding out. Recognised:

- the standard library's flag package and pflag/cobra: ``flag.String("name",
  default, usage)``, the ``Var`` forms (``flag.StringVar(&v, ...)``), the ``P``
  forms with a shorthand (``cmd.Flags().StringVarP(&v, "name", "n", ...)``), on
  ``flag``, a FlagSet or ``Flags()``/``PersistentFlags()``;
- ``os.Getenv``/``os.LookupEnv``, helpers named like ``getenv("X", "default")``
  or ``mustEnv("X")``, and ``env:"X"`` struct tags (caarlos0/env, envconfig).

A setting is *required* when the code checks it is empty and then exits
(``if *text == "" { log.Fatal(...) }``, ``if !ok { os.Exit(1) }``, a returned
error), a helper is named must/require, a tag says required, or cobra marks
the flag required. Pure: source text in, settings out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from goship.golang.goscan import STRING, bound_name, call_args, closing, line_of, strip_comments, unquote

__all__ = ["Setting", "find_settings"]

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
_ENV_TAG = re.compile(r'`[^`]*?\b(?:env|envconfig):"(?P<name>[A-Za-z_]\w*)(?P<opts>(?:,[\w=]*)*)"[^`]*`')
_TAG_DEFAULT = re.compile(r'\b(?:envDefault|default):"(?P<value>[^"]*)"')
_TAG_REQUIRED = re.compile(r'\brequired:"true"')
_MARK_REQUIRED = re.compile(r'\.Mark(?:Persistent)?FlagRequired\(\s*"(?P<name>[\w-]+)"')
#: What a failed check does when the service cannot go on.
_EXITS = re.compile(
    r"\.(?:Fatal|Fatalf|Fatalln|Panic|Panicf|Panicln)\(|\bos\.Exit\(|\bpanic\(|\bflag\.Usage\(\)"
    r"|\breturn\b[^\n]*(?:\berr\b|Err|errors\.New|fmt\.Errorf)"
)
_IF = re.compile(r"\bif\s+(?P<cond>[^{};]*(?:;[^{}]*)?)\{")


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

    @property
    def label(self) -> str:
        return f"-{self.name}" if self.kind == "flag" else f"${self.name}"


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
        if _EXITS.search(text[brace : closing(text, brace)]):
            return match.start()
    return None


def _ok_name(text: str, call_start: int) -> str | None:
    """The ``ok`` of ``v, ok := os.LookupEnv(...)``."""
    line_start = text.rfind("\n", 0, call_start) + 1
    found = re.search(r"[A-Za-z_][\w.]*\s*,\s*(\w+)\s*:?=\s*$", text[line_start:call_start])
    return found.group(1) if found else None


def _flags(file: str, text: str) -> list[Setting]:
    found: list[Setting] = []
    for match in _FLAG_CALL.finditer(text):
        recv = match.group("recv")
        if not (recv.endswith("fs") or "flag" in recv.lower()):  # flag, a FlagSet, cmd.Flags(), fs
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
        default = None if kind in ("Func", "BoolFunc", "TextVar") else _literal(args[name_at + 1 + shorthand])
        subject = args[0].lstrip("&") if var else bound_name(text, match.start())
        # A default that is not empty satisfies the check: only a flag without one must be given.
        required = _checks(text, subject) if subject and default in (None, "", "0") else None
        found.append(Setting(
            "flag", name, kind.lower(), default, f"{file}:{line_of(text, match.start())}",
            f"{file}:{line_of(text, required)}" if required is not None else "",
        ))
    return found


def _envs(file: str, text: str) -> list[Setting]:
    found: list[Setting] = []
    for match in _ENV_CALL.finditer(text):
        name = match.group("var")
        helper = match.group("name") or ""
        if match.group("os") is None and (
            not helper or helper in ("Setenv", "Unsetenv") or match.group("helper") in ("os.", "syscall.")
        ):
            continue
        args = call_args(text, text.index("(", match.start()))
        default = _literal(args[1]) if helper and len(args) == 2 else None
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
    for match in _ENV_TAG.finditer(text):
        tag = match.group(0)
        default_match = _TAG_DEFAULT.search(tag)
        required = "required" in match.group("opts").split(",") or bool(_TAG_REQUIRED.search(tag))
        where = f"{file}:{line_of(text, match.start())}"
        found.append(Setting(
            "env", match.group("name"), "", default_match.group("value") if default_match else None, where,
            where if required and not default_match else "",
        ))
    return found


def _env_default(text: str, subject: str, after: int) -> str | None:
    """``if v == "" { v = "x" }`` right after the read: the default is "x"."""
    window = text[after : after + 300]
    found = re.search(
        rf'if\s+{re.escape(subject)}\s*==\s*""\s*\{{\s*{re.escape(subject)}\s*=\s*({STRING})', window
    )
    return unquote(found.group(1)) if found else None


def find_settings(sources: dict[str, str]) -> list[Setting]:
    """The flags and variables read in ``sources`` ({file: Go source}): required
    ones first, then in source order; each once; PORT (goship sets it) left out."""
    settings: dict[tuple[str, str], Setting] = {}
    marked: dict[str, str] = {}
    for file, raw in sorted(sources.items()):
        text = strip_comments(raw)
        for setting in _flags(file, text) + _envs(file, text):
            if setting.kind == "env" and setting.name in _GOSHIP_SETS:
                continue
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
