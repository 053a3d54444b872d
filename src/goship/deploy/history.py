"""Release history, kept on each host (not only on the deployer's laptop).

Records live in a Docker volume, reached through a container that is
created and never started (``goship-state-<service>``), so a host needs
nothing but Docker. Each record is its own small JSON file, written once
and never rewritten: a goship killed while writing leaves at worst one
unreadable file, which readers skip, never a corrupt history.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from dataclasses import asdict, dataclass, field

from goship.deploy import lock
from goship.deploy.specs import managed, marker_container
from goship.engine.api import ContainerSpec
from goship.engine.client import Engine
from goship.errors import EngineConflict

STATE_DIR = "/state"
RELEASES = "releases"


@dataclass(frozen=True)
class ReleaseRecord:
    service: str
    version: str
    image: str  # what ran: repo@digest or a local tag
    digest: str
    result: str  # live | failed | rollback
    host: str
    container: str = ""
    revision: str = ""
    deployed_by: str = ""
    time: float = field(default_factory=time.time)
    reason: str = ""
    #: The containers of each process (the main one is "web") when the release has roles;
    #: empty for one with the main process alone, and in records made before roles.
    roles: dict[str, list[str]] = field(default_factory=dict)

    @property
    def processes(self) -> tuple[str, ...]:
        """The processes the release ran: the main one ("web") and its roles."""
        return tuple(self.roles) or ("web",)

    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.time))


def state_name(service: str) -> str:
    return f"goship-state-{service}"


def state_container(service: str, image: str) -> ContainerSpec:
    return marker_container(image, managed("state", service), binds=(f"{state_name(service)}:{STATE_DIR}",))


def record_tar(record: ReleaseRecord) -> bytes:
    """A tar holding the record as ``releases/<time>-<version>.json``."""
    data = json.dumps(asdict(record), indent=2, sort_keys=True).encode()
    name = f"{RELEASES}/{int(record.time * 1000):015d}-{record.version}-{record.result}.json"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo(RELEASES)
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def parse_records(tar_bytes: bytes) -> list[ReleaseRecord]:
    """Records from ``docker cp …:/state/releases -``, oldest first; bad files skipped."""
    known = set(ReleaseRecord.__dataclass_fields__)
    records = []
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            for member in tar.getmembers():
                if not member.isfile() or not member.name.endswith(".json"):
                    continue
                extracted = tar.extractfile(member)
                try:
                    raw = json.loads(extracted.read() if extracted else b"")
                    records.append(ReleaseRecord(**{k: v for k, v in raw.items() if k in known}))
                except (ValueError, TypeError):
                    continue  # a record cut short by a killed deploy
    except (tarfile.TarError, EOFError, OSError, ValueError):
        return []
    return sorted(records, key=lambda r: r.time)


def ensure_state(engine: Engine, service: str, image: str) -> None:
    if engine.inspect(state_name(service)) is None:
        try:
            engine.create(state_name(service), state_container(service, image))
        except EngineConflict:
            pass  # created by a deploy on another host of the same engine


def write(engine: Engine, record: ReleaseRecord, image_for_state: str) -> None:
    ensure_state(engine, record.service, image_for_state)
    engine.put_archive(state_name(record.service), STATE_DIR, record_tar(record))


def read(engine: Engine, service: str) -> list[ReleaseRecord]:
    data = engine.get_archive(state_name(service), f"{STATE_DIR}/{RELEASES}")
    return parse_records(data) if data is not None else []


def deployer() -> str:
    info = lock.me("")
    return f"{info.holder}@{info.machine}"


def rollback_candidate(records: list[ReleaseRecord], current: str | None, version: str | None) -> ReleaseRecord | None:
    """The release to go back to: ``version`` if given, else the newest
    successful release that is not the current one."""
    for record in reversed(records):
        if record.result not in ("live", "rollback"):
            continue
        if version is not None:
            if record.version == version:
                return record
        elif record.container != current and record.version != _version_of(records, current):
            return record
    return None


def _version_of(records: list[ReleaseRecord], container: str | None) -> str | None:
    return next((r.version for r in reversed(records) if r.container == container), None)


def release_states(records: list[ReleaseRecord], live: str | None) -> list[str]:
    """What each record (oldest first) is now, for people: exactly one is ``live``.

    The live one is the newest successful release of the container the proxy
    routes to. When it is a rollback to a version, the releases between that
    version's own release and the rollback were ``rolled back``; other earlier
    successful ones were ``replaced``; ``failed`` ones stay failed. Without a
    live container there is no live release.
    """
    ok = ("live", "rollback")
    live_index = next(
        (i for i in range(len(records) - 1, -1, -1) if records[i].result in ok and live and records[i].container == live),
        None,
    )
    undone_from = live_index
    if live_index is not None and records[live_index].result == "rollback":
        version = records[live_index].version
        undone_from = next(
            (i for i in range(live_index - 1, -1, -1) if records[i].result in ok and records[i].version == version),
            live_index,
        )
    states = []
    for index, record in enumerate(records):
        if record.result not in ok:
            states.append("failed")
        elif index == live_index:
            states.append("live (rollback)" if record.result == "rollback" else "live")
        elif live_index is not None and undone_from is not None and undone_from < index < live_index:
            states.append("rolled back")
        else:
            states.append("replaced")
    return states
