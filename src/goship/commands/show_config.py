"""``goship config [TARGET]``: goship.yaml as one target sees it, secrets masked.

What a reviewer needs before a deploy: the merge of the top-level sections
with targets.NAME's overrides, every default filled in, ``${VAR}`` resolved.
Pure: the document is built from the loaded project; the CLI prints it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from goship.config.interpolate import references
from goship.project import Project
from goship.secrets import is_secret_name

MASK = "********"
_URL_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<password>[^@/\s]+)@")


def resolved(project: Project, target: str | None, environ: Mapping[str, str], text: str = "") -> dict[str, Any]:
    """The configuration target ``target`` (None: the top level) deploys with, as plain data.

    ``text`` is goship.yaml's own text: the values of the secret-looking variables it
    refers to (``${DB_PASSWORD}``) are masked wherever they ended up.
    """
    view = project.for_target(target) if target else project
    config = view.config
    document: dict[str, Any] = {"service": project.service}
    if target:
        entry = config.targets.get(target)
        document["target"] = {"name": target, "kind": entry.kind if entry else "local"}
        if entry is not None and entry.hosts:
            document["target"]["hosts"] = list(entry.hosts)
            document["target"]["shell"] = entry.shell
    document["image"] = project.repository if view is project else view.repository
    document["main"] = view.main
    for section in dataclasses.fields(config):
        if section.name in ("service", "image", "targets"):
            continue
        document[section.name] = _plain(getattr(config, section.name))
    if not target and config.targets:
        document["targets"] = sorted(config.targets)
    hidden = [environ[name] for name in references(text) if is_secret_name(name) and environ.get(name)]
    masked: dict[str, Any] = _mask(document, hidden)
    return masked


def _plain(value: Any) -> Any:
    """A section as JSON-ready data: dataclasses (also inside roles' mapping) as dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _mask(value: Any, hidden: list[str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, hidden, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, hidden, key) for v in value]
    if not isinstance(value, str):
        return value
    if key and is_secret_name(key):
        return MASK
    for secret in hidden:
        value = value.replace(secret, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", value)



