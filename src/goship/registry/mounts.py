"""Which repositories of a registry may already hold a blob we are about to push.

Every service goship builds shares the same base layer, and Dockerfile
images share their base images; once one repository of a registry has a
blob, a push to another repository can mount it (one request, no bytes)
instead of uploading it. goship remembers, per user, the last repositories
it pushed to on each registry and offers them as mount sources.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KEEP = 5


def cache_dir() -> Path:
    """The per-user cache directory, as each OS names it."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "goship"


def _record_path() -> Path:
    return cache_dir() / "pushed-repositories.json"


def _load() -> dict[str, list[str]]:
    try:
        data = json.loads(_record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): [str(r) for r in v] for k, v in data.items() if isinstance(v, list)} if isinstance(data, dict) else {}


def candidates(registry: str, repository: str) -> list[str]:
    """Repositories of ``registry`` pushed to recently, other than ``repository``."""
    return [r for r in _load().get(registry, []) if r != repository]


def remember(registry: str, repository: str) -> None:
    """Note a successful push; a cache, so failing to write it is not an error."""
    data = _load()
    listed = [repository, *[r for r in data.get(registry, []) if r != repository]][:KEEP]
    data[registry] = listed
    try:
        path = _record_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass
