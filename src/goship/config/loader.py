"""Load goship.yaml into the typed model, with errors that point at a line.

PyYAML's node tree keeps the line of every key and value; validating the
nodes (rather than the plain dicts ``safe_load`` returns) is what lets an
error say ``goship.yaml:7: health.timeout: expected a duration``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml

from goship.config.model import Config, Duration
from goship.errors import ConfigError

CONFIG_NAME = "goship.yaml"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """``30s``, ``1m30s``, ``500ms``, ``2h`` -> seconds; None when malformed."""
    text = text.strip()
    pos, total = 0, 0.0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            return None
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    return total if text else None


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source
        self._scalars = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, path: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, hint=hint, file=self.source, line=node.start_mark.line + 1, key=path or None)

    def convert(self, node: yaml.Node, typ: Any, path: str, key_node: yaml.Node | None = None) -> Any:
        origin = typing.get_origin(typ)
        if origin in (Union, types.UnionType):
            options = [t for t in typing.get_args(typ) if t is not type(None)]
            if self._is_null(node) and len(options) < len(typing.get_args(typ)):
                return None
            # bool | str (build.sbom: true, or a format name): the first type the value is.
            for option in options[:-1]:
                try:
                    return self.convert(node, option, path, key_node)
                except ConfigError:
                    continue
            try:
                return self.convert(node, options[-1], path, key_node)
            except ConfigError:
                if len(options) == 1:
                    raise
                expected = " or ".join(self._expected(option) for option in options)
                raise self.fail(node, path, f"expected {expected}, got {self._describe(node)}") from None
        if dataclasses.is_dataclass(typ):
            return self._dataclass(node, typ, path, key_node)
        if origin is list:
            return self._list(node, typing.get_args(typ)[0], path)
        if origin is dict:
            return self._dict(node, typing.get_args(typ)[1], path)
        return self._scalar(node, typ, path)

    @staticmethod
    def _is_null(node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def _mapping_items(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if self._is_null(node):
            return []
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, f"expected a mapping of keys, got {self._describe(node)}")
        items: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "keys must be plain names")
            key = str(key_node.value)
            if key in seen:
                raise self.fail(key_node, self._join(path, key), "key appears twice")
            seen.add(key)
            items.append((key, key_node, value_node))
        return items

    def _dataclass(self, node: yaml.Node, cls: Any, path: str, key_node: yaml.Node | None = None) -> Any:
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        lines: dict[str, yaml.Node] = {}
        for key, child_key, value_node in self._mapping_items(node, path):
            lines[key] = child_key
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(fields)}"
                raise self.fail(child_key, self._join(path, key), f"unknown key ({hint})")
            self._check_keys(value_node, self._join(path, key), fields[key].metadata.get("key_check"))
            values[key] = self.convert(value_node, hints[key], self._join(path, key), child_key)
            check = fields[key].metadata.get("check")
            problem = check(values[key]) if check else None
            if problem:
                raise self.fail(value_node, self._join(path, key), problem)
        instance = cls(**values)
        # Rules across keys of one mapping (a weakened app.security needs a
        # reason): reported at the key they name, or ("") at the mapping's own key.
        problems = getattr(instance, "problems", None)
        for key, message, hint in problems() if problems else ():
            at = lines.get(key) if key else key_node
            raise self.fail(at or node, self._join(path, key) if key else path, message, hint)
        return instance

    def _check_keys(self, node: yaml.Node, path: str, check: Any) -> None:
        """The names of a mapping of named entries (roles), each reported at its own line."""
        if check is None:
            return
        for key, key_node, _ in self._mapping_items(node, path):
            problem = check(key)
            if problem:
                raise self.fail(key_node, self._join(path, key), problem)

    def _list(self, node: yaml.Node, item: Any, path: str) -> list[Any]:
        if self._is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, path, f"expected a list, got {self._describe(node)}")
        return [self.convert(child, item, f"{path}[{i}]") for i, child in enumerate(node.value)]

    def _dict(self, node: yaml.Node, value: Any, path: str) -> dict[str, Any]:
        return {
            key: self.convert(value_node, value, self._join(path, key))
            for key, _, value_node in self._mapping_items(node, path)
        }

    def _scalar(self, node: yaml.Node, typ: Any, path: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, path, f"expected {self._expected(typ)}, got {self._describe(node)}")
        value = self._scalars.construct_object(node)
        if typ is Duration:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return float(value)
            seconds = parse_duration(str(value)) if isinstance(value, str) else None
            if seconds is None:
                raise self.fail(node, path, f"expected a duration like 30s, 1m or 500ms, got {value!r}")
            return seconds
        if typ is bool and isinstance(value, bool):
            return value
        if typ is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if typ is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            # The text as written: 'GO: 1.20' means "1.20", not the float 1.2.
            return str(node.value)
        if typ is str and isinstance(value, str):
            return value
        shown = str(node.value) if isinstance(value, bool) else repr(value)
        hint = f"quote it: '{node.value}'" if typ is str else None
        raise self.fail(node, path, f"expected {self._expected(typ)}, got {shown}", hint=hint)

    @staticmethod
    def _expected(typ: Any) -> str:
        return {bool: "true or false", int: "a whole number", str: "a string"}.get(typ, str(typ))

    @staticmethod
    def _describe(node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        return repr(node.value)

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key


def parse_config(text: str, source: str = CONFIG_NAME) -> Config:
    """Validate the text of a goship.yaml; pure, for tests and editors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"not valid YAML: {exc.problem or exc.context}",
            hint="check the indentation and the ':' after each key",
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=source) from None
    if node is None:
        return Config()
    config: Config = _Validator(source).convert(node, Config, "")
    return config


def load_config(path: Path) -> Config:
    """Read and validate a goship.yaml file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror}", file=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", hint="save the file as UTF-8", file=str(path)) from None
    return parse_config(text, source=str(path))
