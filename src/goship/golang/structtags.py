"""Options declared in struct tags, read the way the library that owns the tags reads them.

A struct tag means something only to the library that parses it, so a tag is
read only when the module imports that library (its import path, in any file
init reads); a ``default:"..."`` next to no such import is nobody's option.

- jessevdk/go-flags: ``long:"listen" short:"l" env:"LISTEN" default:"..." required:"true"``;
  a group's ``env-namespace`` prefixes its options' variables;
- alecthomas/kong: ``name:"port"`` (else the field name in kebab case), ``env:"PORT"``,
  ``default:"8080"``, ``required:""``; ``envprefix`` on an embedded struct and
  ``kong.DefaultEnvars("APP")`` name the variables of flags without ``env``;
- kelseyhightower/envconfig: ``envconfig:"PORT"`` (else the field name, or its words
  with ``split_words``), ``default``, ``required:"true"``; ``envconfig.Process("app", &c)``
  reads APP_PORT first, then PORT when the tag names it;
- caarlos0/env: ``env:"PORT,required"`` (or ``notEmpty``), ``envDefault``; ``envPrefix`` on
  a nested struct and ``env.Options{Prefix: ...}`` prefix the names.

Pure: {file: source without comments} in, settings out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goship.golang.goscan import OPTION_LIBRARIES, closing, line_of

__all__ = ["TagOption", "imported_libraries", "tag_options"]


@dataclass(frozen=True)
class TagOption:
    """A flag and/or variable a struct field declares."""

    #: the flag's name ("" for a variable only) and how it is written on a command line.
    flag: str
    dashes: str
    #: the variables that set it, the one read first first.
    env: tuple[str, ...]
    type: str
    default: str | None
    where: str
    required: bool
    #: the struct field, for a listen address followed to it (``cfg.Addr``).
    field: str


_STRUCT = re.compile(r"\btype\s+(?P<name>[A-Za-z_]\w*)\s+struct\s*\{")
_FIELD = re.compile(
    r"(?P<field>[A-Za-z_]\w*)[ \t]+(?P<type>[\w.*]*(?:\[[^\]\n]*\][\w.*]*)*)[ \t]+`(?P<tag>[^`\n]*)`"
)
_TAG_PAIR = re.compile(r'([A-Za-z_][\w-]*):"((?:[^"\\]|\\.)*)"')
_KONG_KEYS = {
    "help", "name", "short", "default", "env", "required", "placeholder", "enum", "hidden",
    "negatable", "type", "xor", "and", "group", "sep", "mapsep",
}
_BASIC_TYPES = {"time.Duration": "duration"}


def imported_libraries(texts: dict[str, str]) -> set[str]:
    """The option libraries any of the sources imports."""
    return {lib for lib, path in OPTION_LIBRARIES.items() if any(path.search(t) for t in texts.values())}


def _kebab(field: str) -> str:
    """kong's flag name for a field: ``ListenAddr`` -> listen-addr, ``HTTPPort`` -> http-port."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", field)
    return spaced.lower()


def _words(field: str) -> str:
    """envconfig's split_words: ``ListenAddr`` -> LISTEN_ADDR."""
    return _kebab(field).replace("-", "_").upper()


def _type(go_type: str) -> str:
    go_type = go_type.lstrip("*")
    return _BASIC_TYPES.get(go_type, go_type)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() not in ("", "false", "no", "0")


@dataclass(frozen=True)
class _Span:
    """A struct body: a named type's, or an inline one's with the tag after its brace."""

    start: int
    end: int
    type: str
    tags: dict[str, str]


_INLINE = re.compile(r"(?<![\w.])[A-Za-z_]\w*\s+struct\s*\{")


def _struct_spans(text: str) -> list[_Span]:
    spans = [_Span(m.end(), closing(text, m.end() - 1), m.group("name"), {}) for m in _STRUCT.finditer(text)]
    for match in _INLINE.finditer(text):
        if text[max(0, match.start() - 5) : match.start()].strip() == "type":
            continue
        end = closing(text, match.end() - 1)
        tag = re.match(r"[ \t]*`([^`\n]*)`", text[end + 1 :])
        spans.append(_Span(match.end(), end, "", dict(_TAG_PAIR.findall(tag.group(1))) if tag else {}))
    return spans


def _enclosing(spans: list[_Span], offset: int) -> list[_Span]:
    """The struct bodies around ``offset``, outermost first."""
    return sorted((s for s in spans if s.start <= offset < s.end), key=lambda s: s.start)


def _nested_tags(texts: dict[str, str]) -> dict[str, dict[str, str]]:
    """{struct type: the tag of a field of that type}, e.g. ``DB Database `envPrefix:"DB_"```:
    what a nested struct's fields inherit (prefixes, namespaces)."""
    nested: dict[str, dict[str, str]] = {}
    for text in texts.values():
        for match in _FIELD.finditer(text):
            tags = dict(_TAG_PAIR.findall(match.group("tag")))
            if {"envPrefix", "env-namespace", "namespace", "envprefix", "prefix"} & tags.keys():
                nested[match.group("type").lstrip("*").rsplit(".", 1)[-1]] = tags
    return nested


def _prefix(chain: list[dict[str, str]], key: str, delimiter: str = "") -> str:
    """The prefix the enclosing structs' tags give under ``key``, outermost first."""
    parts = [tags[key] for tags in chain if tags.get(key)]
    return "".join(part + delimiter for part in parts)


def _one(pattern: str, texts: dict[str, str]) -> str:
    """The literal ``pattern`` captures, when every occurrence agrees; else ""."""
    found = {m.group(1) for text in texts.values() for m in re.finditer(pattern, text)}
    return found.pop() if len(found) == 1 else ""


def _library(tags: dict[str, str], libraries: set[str]) -> str | None:
    """Which imported library owns a field's tag (several may be imported)."""
    if "go-flags" in libraries and ("long" in tags or "short" in tags):
        return "go-flags"
    env_option = "envDefault" in tags or "," in tags.get("env", "")
    if "env" in libraries and "env" in tags and (env_option or "kong" not in libraries):
        return "env"
    kong_flag = _KONG_KEYS.intersection(tags) and not {"cmd", "arg", "embed"} & tags.keys()
    if "kong" in libraries and kong_flag and tags.get("kong") != "-":
        return "kong"
    if "envconfig" in libraries and {"envconfig", "default", "required", "split_words"} & tags.keys():
        return "envconfig" if tags.get("ignored") != "true" else None
    return None


def tag_options(texts: dict[str, str]) -> list[TagOption]:
    """The options struct fields declare for the libraries the sources import, in source order."""
    libraries = imported_libraries(texts)
    if not libraries:
        return []
    nested = _nested_tags(texts)
    envconfig_prefix = _one(r'envconfig\.(?:Must)?Process\(\s*"(\w*)"', texts)
    env_prefix = _one(r'env\.Options\s*\{[^}]*\bPrefix:\s*"(\w*)"', texts)
    kong_envars = _one(r'kong\.DefaultEnvars\(\s*"(\w*)"', texts)
    found: list[TagOption] = []
    for file, text in sorted(texts.items()):
        spans = _struct_spans(text)
        for match in _FIELD.finditer(text):
            tags = dict(reversed(_TAG_PAIR.findall(match.group("tag"))))  # the first of a repeated key wins
            library = _library(tags, libraries)
            if library is None:
                continue
            field, go_type = match.group("field"), match.group("type")
            chain = [span.tags or nested.get(span.type, {}) for span in _enclosing(spans, match.start())]
            where = f"{file}:{line_of(text, match.start())}"
            flag, dashes, env = "", "", tags.get("env", "")
            names: tuple[str, ...] = ()
            default = tags.get("default")
            required = False
            if library == "go-flags":
                flag, dashes = (tags["long"], "--") if tags.get("long") else (tags.get("short", ""), "-")
                if tags.get("long"):
                    flag = _prefix(chain, "namespace", ".") + flag
                env = _prefix(chain, "env-namespace", "_") + env if env else ""
                required = _truthy(tags.get("required"))
                names = (env,) if env else ()
            elif library == "kong":
                flag, dashes = _prefix(chain, "prefix") + (tags.get("name") or _kebab(field)), "--"
                env = env.split(",")[0]
                if not env and kong_envars:
                    env = f"{kong_envars}_{flag.replace('-', '_').upper()}"
                env = _prefix(chain, "envprefix") + env if env else ""
                required = "required" in tags and tags["required"].lower() != "false"
                names = (env,) if env else ()
            elif library == "envconfig":
                named = tags.get("envconfig", "")
                key = named or (_words(field) if _truthy(tags.get("split_words")) else field.upper())
                primary = f"{envconfig_prefix}_{key}".upper() if envconfig_prefix else key.upper()
                names = (primary, named.upper()) if named and primary != named.upper() else (primary,)
                required = _truthy(tags.get("required"))
            else:  # caarlos0/env
                name, *options = env.split(",")
                if not name:
                    continue
                names = (env_prefix + _prefix(chain, "envPrefix") + name,)
                default = tags.get("envDefault")
                required = "required" in options or "notEmpty" in options
            if not flag and not names:
                continue
            found.append(TagOption(flag, dashes, names, _type(go_type), default, where, required, field))
    return found
