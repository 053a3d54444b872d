"""The JSON Schema of goship.yaml, generated from the config model.

Editors that speak the yaml-language-server protocol (VS Code's YAML
extension, JetBrains IDEs, Neovim) complete and check keys with it; ``goship
init`` writes the comment that points them at it. The loader stays the
authority (it also checks what a schema cannot say, such as image
references and host specs); the schema is generated from the same
dataclasses, so the two never list different keys. ``schema/goship.schema.json``
in the repository is this output, and a test keeps it fresh.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Union

from goship._version import __version__
from goship.config.model import Config, Duration

#: Where the published schema lives (this release's copy of schema/goship.schema.json).
SCHEMA_URL = "https://raw.githubusercontent.com/goship-dev/goship/main/schema/goship.schema.json"
MODELINE = f"# yaml-language-server: $schema={SCHEMA_URL}"

_DURATION = {
    "anyOf": [
        {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h))+$"},
        {"type": "number", "minimum": 0},
    ],
}


#: A number or true/false may come from the environment: port: ${PORT:-8080}.
_VARIABLE = {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*"}


def _type(typ: Any) -> dict[str, Any]:
    origin = typing.get_origin(typ)
    if origin in (Union, types.UnionType):
        options = [t for t in typing.get_args(typ) if t is not type(None)]
        nullable = [{"type": "null"}] if len(options) < len(typing.get_args(typ)) else []
        return {"anyOf": [*(_type(option) for option in options), *nullable]}
    if dataclasses.is_dataclass(typ):
        pattern = getattr(typ, "TEXT_PATTERN", None)
        if pattern is not None:  # a mapping that has a short form too (app.volumes)
            return {"anyOf": [{"type": "string", "pattern": pattern}, _object(typ)]}
        return _object(typ)
    if origin is list:
        return {"type": "array", "items": _type(typing.get_args(typ)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(typing.get_args(typ)[1])}
    if typ is Duration:
        return dict(_DURATION)
    if typ is bool:
        return {"anyOf": [{"type": "boolean"}, dict(_VARIABLE)]}
    if typ is int:
        return {"anyOf": [{"type": "integer"}, dict(_VARIABLE)]}
    if typ is float:
        return {"anyOf": [{"type": "number"}, dict(_VARIABLE)]}
    if typ is str:
        # Numbers in text settings keep their spelling (GO: 1.20): the loader takes them.
        return {"type": ["string", "number"]}
    raise TypeError(f"no JSON Schema for {typ!r}")


def _object(cls: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.metadata.get("internal"):
            continue
        schema = _type(hints[item.name])
        extra = dict(item.metadata.get("schema") or {})
        if extra:
            target = schema["anyOf"][0] if "anyOf" in schema and len(schema["anyOf"]) == 2 else schema
            if target.get("type") == ["string", "number"]:
                target["type"] = "string"
            target.update(extra)
        if item.metadata.get("text_only"):
            # The loader refuses a number here (image: 123).
            schema = {"anyOf": [{"type": "string", **extra}, {"type": "null"}]} if "anyOf" in schema else {"type": "string", **extra}
        if item.metadata.get("doc"):
            schema["description"] = item.metadata["doc"]
        default = _default(item)
        if default is not dataclasses.MISSING:
            schema["default"] = default
        properties[item.name] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _default(item: dataclasses.Field[Any]) -> Any:
    if item.default is not dataclasses.MISSING:
        value = item.default
    elif item.default_factory is not dataclasses.MISSING:
        value = item.default_factory()
    else:
        return dataclasses.MISSING
    if dataclasses.is_dataclass(value):
        return dataclasses.MISSING  # a nested mapping: its keys carry their own defaults
    return value


def schema() -> dict[str, Any]:
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_URL,
        "title": "goship.yaml",
        "description": f"goship {__version__}: how a Go service is built, pushed and deployed",
    }
    document.update(_object(Config))
    return document


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"
