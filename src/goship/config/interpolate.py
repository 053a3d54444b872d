"""``${VAR}`` in goship.yaml values, read from the environment.

The forms are the ones docker compose files use, so a team's habits carry
over: ``${VAR}``, ``${VAR:-default}`` (unset or empty), ``${VAR-default}``
(unset only), ``${VAR:?message}`` / ``${VAR?message}`` (required), and ``$$``
for a literal ``$``. A lone ``$`` not followed by ``{`` stays as written, so
``-text=$HOME`` meant for a shell in the container is not touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(
    r"\$\$|\$\{(?P<name>[^}:?\-]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>[^}]*))?\}|\$\{"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with each reference replaced; ValueError names what is missing or malformed."""

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$$":
            return "$"
        name = match.group("name")
        if name is None:
            raise ValueError(f"'${{' is not closed in {text!r}")
        if not _NAME.fullmatch(name):
            raise ValueError(f"${{{name}}}: {name!r} is not a variable name")
        op, arg = match.group("op"), match.group("arg") or ""
        if "${" in arg:
            raise ValueError(f"{whole}...: a ${{...}} inside a default is not supported (give the default as text)")
        value = environ.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise ValueError(f"${{{name}}} is not set" + (f": {arg}" if arg else ""))
        if value is None:
            raise ValueError(f"${{{name}}} is not set in the environment")
        return value

    return _REFERENCE.sub(replace, text)


def references(text: str) -> list[str]:
    """The variable names ``text`` refers to (for masking their values when a config is shown)."""
    return [m.group("name") for m in _REFERENCE.finditer(text) if m.group("name") and _NAME.fullmatch(m.group("name"))]
