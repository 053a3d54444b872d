"""The version tag of a build, derived from git (or the sources outside git)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from goship import process
from goship.errors import BuildError, ProcessError

_IGNORED_DIRS = {".git", ".goship", "node_modules"}


@dataclass(frozen=True)
class SourceVersion:
    version: str  # tag-safe: "3f2a9c1d0b7e" or "3f2a9c1d0b7e-dirty" or "src-..."
    revision: str | None  # full commit id, when in git
    timestamp: int  # seconds since the epoch, for reproducible image dates
    dirty: bool


def _git(root: Path, *args: str, runner: process.Runner = process.SYSTEM) -> str | None:
    try:
        done = runner.run(("git", *args), cwd=root, timeout=30, check=False)
    except ProcessError:
        return None  # no git (or it hangs): the sources are hashed instead
    return done.text.strip() if done.returncode == 0 else None


def source_hash(root: Path, files: list[str] | None = None) -> str:
    """A digest of the module's files (CRLF folded to LF, so a Windows
    checkout hashes like a Linux one)."""
    if files is None:
        files = [
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not _IGNORED_DIRS.intersection(p.relative_to(root).parts)
        ]
    digest = hashlib.sha256()
    for rel in sorted(files):
        path = root / rel
        if not path.is_file():
            continue  # deleted in the work tree
        digest.update(rel.encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()


# Far enough for any real date, and within what tar and RFC 3339 can write.
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH (reproducible-builds.org): whole seconds since 1970, or None."""
    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > _MAX_EPOCH:
        raise BuildError(
            f"SOURCE_DATE_EPOCH={text!r} is not a time goship can use",
            hint="set it to whole seconds since 1970, e.g. $(git log -1 --format=%ct), or unset it",
        )
    return int(text)


def source_version(root: Path, runner: process.Runner = process.SYSTEM) -> SourceVersion:
    epoch = source_date_epoch()
    revision = _git(root, "rev-parse", "HEAD", runner=runner)
    if revision:
        status = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", ".", runner=runner)
        dirty = bool(status)
        commit_time = _git(root, "log", "-1", "--format=%ct", runner=runner)
        timestamp = epoch if epoch is not None else int(commit_time or 0)
        version = revision[:12]
        if dirty:
            # Each distinct set of uncommitted changes gets its own tag.
            listed = _git(root, "ls-files", "--cached", "--others", "--exclude-standard", "--", ".", runner=runner)
            version += "-dirty-" + source_hash(root, (listed or "").splitlines())[:8]
        return SourceVersion(version, revision, timestamp, dirty)
    return SourceVersion("src-" + source_hash(root)[:12], None, epoch or 0, False)
