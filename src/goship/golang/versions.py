"""Go release versions, ordered as the go command orders them.

go.mod's ``go`` line (``1.23``, ``1.23.4``, ``1.24rc1``), toolchain names
(``go1.23.4``) and the Go release in an official ``golang`` image tag
(``1.22``, ``1.22.3-alpine3.20``, ``1.22rc1-bookworm``). Pure.

The order is Go's own (``internal/gover``): ``1.21`` < ``1.21rc1`` <
``1.21.0`` < ``1.21.1``: a language version comes before the release
candidates of that release, and those before its first patch release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$")
#: The version at the start of an image tag: '1.22', '1.22.3', '1.22rc1', then '-variant' or the end.
_TAG_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?(?=-|$)")
_KINDS = {"alpha": 1, "beta": 2, "rc": 3}
#: The patch number of a tag naming only major.minor (golang:1.22): the newest patch
#: release of that minor, newer than any patch go.mod can ask for.
_NEWEST_PATCH = 1 << 30


@dataclass(frozen=True)
class GoVersion:
    """One Go version; ``text`` is how it was written, for messages."""

    major: int
    minor: int
    #: None for a language version or a pre-release ('1.22', '1.22rc1').
    patch: int | None
    #: '', 'alpha', 'beta' or 'rc'.
    kind: str
    pre: int
    text: str

    def key(self) -> tuple[int, int, int, int, int]:
        return (self.major, self.minor, -1 if self.patch is None else self.patch, _KINDS.get(self.kind, 0), self.pre)

    def older_than(self, other: GoVersion) -> bool:
        return self.key() < other.key()

    @property
    def minor_text(self) -> str:
        """'1.23' for 1.23.4 or 1.23rc1."""
        return f"{self.major}.{self.minor}"


def _from_match(match: re.Match[str], text: str, floating: bool = False) -> GoVersion:
    major, minor, patch, kind, pre = match.groups()
    if floating and patch is None and kind is None:
        patch_number: int | None = _NEWEST_PATCH
    else:
        patch_number = int(patch) if patch is not None else None
    return GoVersion(int(major), int(minor), patch_number, kind or "", int(pre or 0), text)


def parse_go_version(text: str | None) -> GoVersion | None:
    """go.mod's go line or a toolchain name ('1.23', '1.23.4', 'go1.24rc1'); None when it is not one."""
    match = _VERSION.match((text or "").strip())
    return _from_match(match, text.strip()) if match and text else None


def image_go_version(tag: str | None) -> GoVersion | None:
    """The Go release an official golang image tag holds, or None when the tag names none.

    ``1.22.3``, ``1.22.3-alpine3.20`` and ``1.22rc1-bookworm`` name exactly
    that release; ``1.22`` and ``1.22-alpine`` float to the newest 1.22.x.
    ``latest``, ``alpine``, ``1``, ``1-bookworm`` and no tag at all float to
    whatever is newest: nothing to compare (None).
    """
    match = _TAG_VERSION.match(tag or "")
    return _from_match(match, match.group(0), floating=True) if match and tag else None
