"""Images the tests need, made offline from what is installed on this machine.

Why: nothing can be pulled from Docker Hub here, yet goship's proxy is
``caddy:2``. Debian's caddy binary plus the few shared libraries it links
against, imported as a root file system, behaves like the upstream image for
goship's purposes (``caddy run``/``caddy reload`` with /etc/caddy/Caddyfile).
``copy_image`` moves images between engines (e.g. into an SSH test host) the
way an air-gapped operator would: ``docker save | docker load``.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ._proc import TestbedError, ok, run

CADDY_BINARY = Path("/usr/bin/caddy")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CADDY_CHANGES = (
    "ENV XDG_DATA_HOME=/data",
    "ENV XDG_CONFIG_HOME=/config",
    'CMD ["caddy","run","--config","/etc/caddy/Caddyfile","--adapter","caddyfile"]',
    "LABEL org.goship.testbed=caddy",
)
# Like upstream's image, a container started without a Caddyfile of its own still runs.
DEFAULT_CADDYFILE = ':80 {\n\trespond "caddy test image: no Caddyfile configured yet"\n}\n'


def image_exists(tag: str, docker: Sequence[str] = ("docker",)) -> bool:
    """True if the engine behind the docker argv has the image tag."""
    return ok([*docker, "image", "inspect", "--format", "{{.Id}}", tag], timeout=30)


def shared_libraries(binary: Path) -> list[Path]:
    """The libraries ``ldd`` resolves for binary, at the paths the loader looks for them (ld-linux included)."""
    out = run(["ldd", str(binary)], timeout=30).stdout
    libs = []
    for line in out.splitlines():
        match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if match:
            libs.append(Path(match.group(1)))
    if not libs:
        raise TestbedError(f"ldd found no libraries for {binary} (static? then nothing to copy): {out!r}")
    return libs


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, path: Path, seen: set[str]) -> None:
    """Add path's content (symlinks followed) under its own absolute path, with parent dirs."""
    name = str(path).lstrip("/")
    parts = name.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if parent not in seen:
            seen.add(parent)
            _add_dir(tar, parent)
    real = path.resolve()
    _add_bytes(tar, name, real.read_bytes(), real.stat().st_mode & 0o777)
    seen.add(name)


def caddy_rootfs(out: Path) -> None:
    """Write the caddy root file system tar to out."""
    seen: set[str] = set()
    with tarfile.open(out, "w") as tar:
        for path in [CADDY_BINARY, *shared_libraries(CADDY_BINARY), CA_BUNDLE]:
            _add_file(tar, path, seen)
        for name, mode in (("etc/caddy", 0o755), ("data", 0o755), ("config", 0o755), ("srv", 0o755),
                           ("tmp", 0o1777)):
            if name not in seen:
                seen.add(name)
                _add_dir(tar, name, mode)
        _add_bytes(tar, "etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n"
                                      b"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")
        _add_bytes(tar, "etc/group", b"root:x:0:\nnobody:x:65534:\n")
        _add_bytes(tar, "etc/nsswitch.conf", b"hosts: files dns\n")
        _add_bytes(tar, "etc/caddy/Caddyfile", DEFAULT_CADDYFILE.encode())


def seed_caddy_image(tag: str = "caddy:2", docker: Sequence[str] = ("docker",), force: bool = False) -> None:
    """Make ``tag`` a working Caddy image in that engine (no-op if the tag already exists, unless force)."""
    if not force and image_exists(tag, docker):
        return
    if not CADDY_BINARY.exists():
        raise TestbedError(f"{CADDY_BINARY} missing: install Debian's caddy package")
    with tempfile.TemporaryDirectory(prefix="goship-caddy-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        caddy_rootfs(rootfs)
        argv = [*docker, "import"]
        for change in CADDY_CHANGES:
            argv += ["--change", change]
        with open(rootfs, "rb") as stdin:
            result = subprocess.run([*argv, "-", tag], stdin=stdin, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise TestbedError(f"docker import {tag} failed: {result.stderr.strip()}")


def copy_image(tag: str, src_docker: Sequence[str], dst_docker: Sequence[str], timeout: float = 600) -> None:
    """``SRC save TAG | DST load``: copy an image between two engines (local, -H socket, or over ssh)."""
    with tempfile.TemporaryFile() as save_err, tempfile.TemporaryFile() as load_err:
        save = subprocess.Popen([*src_docker, "save", tag], stdout=subprocess.PIPE, stderr=save_err,
                                stdin=subprocess.DEVNULL)
        load: subprocess.Popen[bytes] | None = None
        try:
            load = subprocess.Popen([*dst_docker, "load", "-q"], stdin=save.stdout, stdout=subprocess.DEVNULL,
                                    stderr=load_err)
            assert save.stdout is not None
            save.stdout.close()  # load owns the pipe now; save gets SIGPIPE if load dies
            load_rc = load.wait(timeout=timeout)
            save_rc = save.wait(timeout=30)
        except BaseException:
            save.kill()
            if load is not None:
                load.kill()
            raise
        if save_rc != 0 or load_rc != 0:
            save_err.seek(0)
            load_err.seek(0)
            raise TestbedError(
                f"copying {tag} failed: save exit {save_rc}: {save_err.read().decode(errors='replace').strip()}; "
                f"load exit {load_rc}: {load_err.read().decode(errors='replace').strip()}"
            )
