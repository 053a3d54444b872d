"""Hints read from a failed service's own log lines: a file it needs is not in
the image, or it may not write where a volume is mounted.

Pure: log lines and the container's mounts in, a hint (or None) out. Go's
os package words its errors the same everywhere (``open config.yaml: no
such file or directory``, ``mkdir /data/db: permission denied``), so the
path is read from them, and the hint names the goship.yaml line that fixes it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from goship.engine.api import Mount

#: ``open PATH: no such file or directory`` and its siblings from os, io/fs and the
#: config libraries on top of them; the path is group 1.
_MISSING = (
    re.compile(r"\b(?:open|stat|lstat|readfile|read|chdir)\s+\"?([^\s\":]+)\"?:\s+no such file or directory", re.I),
    # os.ReadDir / filepath.Walk style: "lstat templates: ..." is above; template.ParseGlob:
    re.compile(r"pattern matches no files:\s+`?([^`\s]+)`?", re.I),
    re.compile(r"\bcannot find (?:the )?(?:file |path )?\"?([^\s\"]*[./][^\s\":]*)\"?", re.I),
)
#: Said without a path: the hint still names build.files.
_MISSING_VAGUE = re.compile(r"no such file or directory|cannot find|not found in \"?\[", re.I)
_DENIED = re.compile(r"\b(?:open|mkdir|mkdirall|create|remove|rename|chmod|stat|lstat|write)\s+\"?([^\s\":]+)\"?:\s+"
                     r"(permission denied|read-only file system)", re.I)

#: The native image's working directory: a relative path in the log is under it.
WORKDIR = "/"


def _absolute(path: str) -> str:
    return posixpath.normpath(posixpath.join(WORKDIR, path))


def _mount_of(path: str, mounts: Sequence[Mount]) -> Mount | None:
    found = [m for m in mounts if path == m.target or path.startswith(m.target.rstrip("/") + "/")]
    return max(found, key=lambda m: len(m.target)) if found else None


def missing_file_hint(lines: Sequence[str], mounts: Sequence[Mount] = ()) -> str | None:
    """When the log says a file is missing: the build.files line that ships it in the image."""
    for line in reversed(lines):  # the last word is usually why it stopped
        for pattern in _MISSING:
            match = pattern.search(line)
            if match is None:
                continue
            written = match.group(1).rstrip(".,;")
            if "*" in written:  # a glob: the directory it reads
                written = posixpath.dirname(written) or "."
            path = _absolute(written)
            if path == "/" or _mount_of(path, mounts) is not None or path.startswith("/tmp/"):
                return None  # data the service makes itself, not a file to ship
            source = posixpath.normpath(written) if not written.startswith("/") else posixpath.basename(path)
            return (
                f"the service looks for {written}, which is not in the image: ship it from the module with "
                f"build.files in goship.yaml, e.g. `build.files: {{{path}: {source}}}` (image path: path in the "
                f"module; relative paths in the service are read from {WORKDIR})"
            )
    if any(_MISSING_VAGUE.search(line) for line in lines):
        return (
            "the service's log says a file is missing: files it reads at start (configuration, templates) "
            "go into the image with build.files in goship.yaml, e.g. `build.files: {/config.yaml: config.yaml}`"
        )
    return None


def write_denied_hint(lines: Sequence[str], mounts: Sequence[Mount], user: str = "65532:65532") -> str | None:
    """When the log says the service may not write a path: why, for a volume, a host path or the image."""
    for line in reversed(lines):
        match = _DENIED.search(line)
        if match is None:
            continue
        path, why = _absolute(match.group(1)), match.group(2).lower()
        mount = _mount_of(path, mounts)
        if mount is None:
            if why == "read-only file system":
                return (
                    f"the service writes {path}, but the container's root file system is read-only: write to /tmp "
                    "(a tmpfs) or to a volume (app.volumes in goship.yaml)"
                )
            return None
        if mount.read_only or why == "read-only file system":
            return f"{mount.target} is mounted read-only (':ro' or read_only: true in app.volumes): mount it read-write"
        if mount.kind == "bind":
            return (
                f"the host path {mount.source} (mounted at {mount.target}) is not writable by the service's user "
                f"({user}): its owner on the host decides, goship does not change it; on each host run "
                f"`sudo chown -R {user} {mount.source}`"
            )
        return (
            f"volume {mount.source} (mounted at {mount.target}) is not writable by the service's user ({user}): a "
            f"fresh volume takes the owner of {mount.target} in the image. The native builder makes it the app "
            f"user's; with the docker builder create it in the Dockerfile, owned by {user}. A volume made before "
            f"that keeps root as owner: fix it once with `docker run --rm -v {mount.source}:/v busybox chown "
            f"{user} /v` on the host"
        )
    return None


def log_hint(lines: Sequence[str], mounts: Sequence[Mount] = (), user: str | None = None) -> str | None:
    """The hint the service's own log lines give, if any (a write refused first: it names the mount)."""
    return write_denied_hint(lines, mounts, user or "65532:65532") or missing_file_hint(lines, mounts)
