"""Load goship.yaml into the typed model, with errors that point at a line.

PyYAML's node tree keeps the line of every key and value; validating the
nodes (rather than the plain dicts ``safe_load`` returns) is what lets an
error say ``goship.yaml:7: health.timeout: expected a duration``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Union

import yaml

from goship.config.interpolate import interpolate
from goship.config.model import OVERRIDABLE, Config, Duration, TargetConfig
from goship.config.names import LOCAL_TARGET
from goship.errors import ConfigError, ConfigErrors

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


def merge_nodes(base: yaml.Node | None, override: yaml.Node) -> yaml.Node:
    """``override`` laid over ``base``, as nodes (so every value keeps its own line):
    mappings merge key by key, anything else (lists, scalars) replaces; an empty
    override (``app:`` with nothing under it) keeps the base."""
    if base is None or _is_null(override):
        return base if base is not None else override
    if not (isinstance(base, yaml.MappingNode) and isinstance(override, yaml.MappingNode)):
        return override
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    overrides = {key.value: (key, value) for key, value in override.value if isinstance(key, yaml.ScalarNode)}
    for key, value in base.value:
        if isinstance(key, yaml.ScalarNode) and key.value in overrides:
            over_key, over_value = overrides.pop(key.value)
            merged.append((over_key, merge_nodes(value, over_value)))
        else:
            merged.append((key, value))
    merged.extend(pair for pair in override.value if isinstance(pair[0], yaml.ScalarNode) and pair[0].value in overrides)
    merged.extend(pair for pair in override.value if not isinstance(pair[0], yaml.ScalarNode))
    return yaml.MappingNode(base.tag, merged, override.start_mark, override.end_mark, flow_style=override.flow_style)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _short(text: str, limit: int = 40) -> str:
    """A value quoted in an error: one line, not a whole file (-c /etc/passwd)."""
    first = text.strip().splitlines()[0] if text.strip() else text
    more = len(first) > limit or first != text.strip()
    return repr(first[:limit] + ("..." if more else ""))


class _Unresolved(Exception):
    """A ${VAR} in a target's override that this environment does not set."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


class _Validator:
    def __init__(self, source: str, environ: typing.Mapping[str, str], root: yaml.Node | None = None) -> None:
        self.source = source
        self.environ = environ
        self.root = root
        #: Every problem found, in file order: all are reported, not only the first.
        self.errors: list[ConfigError] = []
        #: targets.NAME -> the first ${VAR} its overrides need and the environment lacks.
        self.unresolved: dict[str, ConfigError] = {}
        #: targets.NAME while one of its overrides is checked.
        self._target: str | None = None
        self._scalars = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, path: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, hint=hint, file=self.source, line=node.start_mark.line + 1, key=path or None)

    def convert(self, node: yaml.Node, typ: Any, path: str, key_node: yaml.Node | None = None) -> Any:
        if isinstance(node, yaml.ScalarNode) and "$" in str(node.value):
            node = self._interpolated(node, path, typ)
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
        return _is_null(node)

    def _interpolated(self, node: yaml.ScalarNode, path: str, typ: Any) -> yaml.ScalarNode:
        """``${VAR}``, ``${VAR:-default}`` (and the other forms compose files use) from the environment."""
        try:
            value = interpolate(str(node.value), self.environ)
        except ValueError as exc:
            error = self.fail(node, path, str(exc), hint="export it, give a default as ${NAME:-default}, or write $$ for a literal $")
            if self._target is None:
                raise error from None
            if typ in (str, str | None):
                # A text value of a target's own: the rest of the section is still checked now,
                # and the variable asked for when the target is used.
                self.unresolved.setdefault(self._target, error)
                return yaml.ScalarNode("tag:yaml.org,2002:str", "", node.start_mark, node.end_mark, style='"')
            raise _Unresolved(error) from None
        if value == node.value:
            return node
        tag = "tag:yaml.org,2002:str"
        if node.style is None:
            # A plain value is typed by what it becomes (port: ${PORT:-8080} is a number), as far as
            # numbers and true/false go: a variable's "yes", "null" or "2024-01-01" stays text.
            resolver: Any = yaml.resolver.Resolver()
            resolved = resolver.resolve(yaml.ScalarNode, value, (True, False))
            boolean = resolved == "tag:yaml.org,2002:bool" and value.lower() in ("true", "false")
            if resolved in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") or boolean:
                tag = resolved
        return yaml.ScalarNode(tag, value, node.start_mark, node.end_mark, style=node.style)

    def _mapping_items(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if self._is_null(node):
            return []
        if not isinstance(node, yaml.MappingNode):
            hint = None if path else "is this a goship.yaml? It holds keys such as service:, image:, app: and targets:"
            raise self.fail(node, path, f"expected a mapping of keys, got {self._describe(node)}", hint=hint)
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
        from_text = getattr(cls, "from_text", None)
        if from_text is not None and isinstance(node, yaml.ScalarNode) and not self._is_null(node):
            # A mapping with a short form as well (app.volumes: data:/var/lib/app): the
            # same checks follow, reported at the text's own line.
            try:
                instance = from_text(self._scalar(node, str, path))
            except ValueError as exc:
                raise self.fail(node, path, str(exc)) from None
            for _, message, hint in instance.problems():
                raise self.fail(node, path, message, hint)
            return instance
        found = len(self.errors)
        items = self._mapping_items(node, path)
        if cls is Config:
            # x-anything: a holder for anchors (x-common: &common ...), as compose files have.
            items = [item for item in items if not item[0].startswith("x-")]
            # The targets last: their sections are merged over the top-level ones, whose
            # own problems are then reported once, at their own keys.
            items.sort(key=lambda item: item[0] == "targets")
        for key, child_key, value_node in items:
            lines[key] = child_key
            try:
                values[key] = self._field(cls, fields, hints, key, child_key, value_node, path)
            except ConfigError as error:
                self.errors.append(error)
        if len(self.errors) > found:
            # Rules across keys would judge a mapping with a value missing: report what is known.
            raise self.errors.pop()
        if cls is TargetConfig and path in self.unresolved:
            values["unresolved"] = self.unresolved[path]
        if cls is TargetConfig and path == f"targets.{LOCAL_TARGET}":
            # 'local' is this machine's engine; under targets it only changes settings for it.
            values.setdefault("kind", "local")
            if values["kind"] == "local" and values.get("hosts"):
                raise self.fail(
                    lines["hosts"], f"{path}.hosts", f"the target named {LOCAL_TARGET!r} is this machine's engine: it has no hosts",
                    hint="give your hosts another name (e.g. staging)",
                )
            if values["kind"] != "local":
                raise self.fail(
                    lines["kind"], f"{path}.kind", f"the target named {LOCAL_TARGET!r} is this machine's engine",
                    hint="give your hosts another name (e.g. staging), or set kind: local",
                )
        instance = cls(**values)
        # Rules across keys of one mapping (a weakened app.security needs a
        # reason): reported at the key they name, or ("") at the mapping's own key.
        problems = getattr(instance, "problems", None)
        for key, message, hint in problems() if problems else ():
            at = lines.get(key) if key else key_node
            raise self.fail(at or node, self._join(path, key) if key else path, message, hint)
        return instance

    def _field(
        self,
        cls: Any,
        fields: dict[str, dataclasses.Field[Any]],
        hints: dict[str, Any],
        key: str,
        key_node: yaml.Node,
        value_node: yaml.Node,
        path: str,
    ) -> Any:
        if key not in fields or fields[key].metadata.get("internal"):
            fields = {name: f for name, f in fields.items() if not f.metadata.get("internal")}
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(fields)}"
            raise self.fail(key_node, self._join(path, key), f"unknown key ({hint})")
        if cls is TargetConfig and key in OVERRIDABLE:
            # targets.NAME.app is app with these keys changed: validated whole, so a
            # rule across keys (a weakened security needs a reason) sees both files' parts.
            value_node = merge_nodes(self._top_level(key), value_node)
        numeric = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        if fields[key].metadata.get("text_only") and getattr(value_node, "tag", None) in numeric:
            # A number here is a slip (image: 123), not a name spelt with digits.
            raise self.fail(value_node, self._join(path, key), f"expected a string, got {value_node.value}",
                            hint=f"quote it if you mean it: '{value_node.value}'")
        name_check: Callable[[str], str | None] | None = fields[key].metadata.get("names")
        for name, name_node, _ in self._mapping_items(value_node, path) if name_check else ():
            problem = name_check(name) if name_check else None
            if problem:
                raise self.fail(name_node, self._join(self._join(path, key), name), problem)
        outer = self._target
        try:
            if cls is TargetConfig and key in OVERRIDABLE:
                self._target = path
            value = self.convert(value_node, hints[key], self._join(path, key), key_node)
        except _Unresolved as missing:
            if cls is not TargetConfig:
                raise  # up to the target that holds it
            if key not in OVERRIDABLE:
                raise missing.error from None  # hosts: ${HOST} is needed to know the target at all
            self.unresolved.setdefault(path, missing.error)
            return None
        finally:
            self._target = outer
        check = fields[key].metadata.get("check")
        problem = check(value) if check else None
        if problem:
            raise self.fail(value_node, self._join(path, key), problem)
        return value

    def _top_level(self, key: str) -> yaml.Node | None:
        if not isinstance(self.root, yaml.MappingNode):
            return None
        return next((value for name, value in self.root.value if getattr(name, "value", None) == key), None)

    def _list(self, node: yaml.Node, item: Any, path: str) -> list[Any]:
        if self._is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, path, f"expected a list, got {self._describe(node)}")
        return [self.convert(child, item, f"{path}[{i}]") for i, child in enumerate(node.value)]

    def _dict(self, node: yaml.Node, value: Any, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        found = len(self.errors)
        for key, _, value_node in self._mapping_items(node, path):
            try:
                result[key] = self.convert(value_node, value, self._join(path, key))
            except ConfigError as error:
                self.errors.append(error)
        if len(self.errors) > found:
            raise self.errors.pop()
        return result

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
        if typ is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
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
        return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(typ, str(typ))

    @staticmethod
    def _describe(node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        return _short(str(node.value))

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key


def parse_config(text: str, source: str = CONFIG_NAME, environ: typing.Mapping[str, str] | None = None) -> Config:
    """Validate the text of a goship.yaml; ``${VAR}`` comes from ``environ`` (default: os.environ).

    Raises ConfigError for one problem, ConfigErrors (a ConfigError: the first,
    with the others as ``errors``) for several.
    """
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
    _merge_keys(node, source)
    validator = _Validator(source, os.environ if environ is None else environ, node)
    try:
        config: Config = validator.convert(node, Config, "")
    except ConfigError as error:
        validator.errors.append(error)
    if validator.errors:
        raise ConfigErrors.of(_distinct(validator.errors))
    return config


def _merge_keys(root: yaml.Node, source: str) -> None:
    """YAML merge keys (``<<: *base``) resolved in place, everywhere, before anything reads the
    tree: a target's section merged over the top level's then sees the merged keys."""
    constructor = yaml.constructor.SafeConstructor()
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            try:
                constructor.flatten_mapping(node)
            except yaml.constructor.ConstructorError as exc:
                mark = exc.problem_mark
                raise ConfigError(
                    f"a merge key ('<<') takes a mapping or a list of them: {exc.problem}",
                    file=source, line=mark.line + 1 if mark else None,
                ) from None
            stack.extend(value for pair in node.value for value in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _distinct(errors: list[ConfigError]) -> list[ConfigError]:
    """Each problem once, in file order: a top-level value merged into every target is checked again there."""
    seen: set[tuple[int | None, str]] = set()
    distinct = []
    for error in sorted(errors, key=lambda e: (e.line or 0)):
        if (error.line, error.problem) not in seen:
            seen.add((error.line, error.problem))
            distinct.append(error)
    return distinct


def key_line(path: Path | None, key: str) -> int | None:
    """The 1-based line of ``key`` (``targets.staging.build.main``) in goship.yaml, if written there:
    for a problem found after loading (a build.main that is no main package)."""
    try:
        node: yaml.Node | None = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader) if path else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for part in key.split("."):
        if not isinstance(node, yaml.MappingNode):
            return line
        found = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        if found is None:
            return line
        line, node = found[0].start_mark.line + 1, found[1]
    return line


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
