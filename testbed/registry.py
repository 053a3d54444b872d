"""A real OCI registry (CNCF distribution 2.8, Debian's docker-registry) for push/pull tests.

Why: goship speaks the registry protocol itself, so tests need the reference
server, not a fake: plain HTTP, basic auth (htpasswd, bcrypt only) and TLS with
a private CA are the three modes a user meets. Each registry is a separate
process on a port of its own, stopped by pid.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import state
from ._proc import TestbedError, alive, run, system_env, tail, terminate, wait_until

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
BCRYPT_COST = 5  # the registry checks the hash on every request: keep it cheap (4 is the minimum)


@dataclass
class Registry:
    """A running registry; ``addr`` is what image references start with ("10.231.0.1:5000")."""

    host: str
    port: int
    workdir: Path
    pid: int
    config: Path
    log: Path
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = None

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.ca_file else 'http'}://{self.addr}"

    @property
    def cert_dir(self) -> Path | None:
        """A directory holding only ca.crt, the layout skopeo's --*-cert-dir and /etc/docker/certs.d expect."""
        return self.ca_file.parent if self.ca_file else None

    def alive(self) -> bool:
        return alive(self.pid)

    def stop(self) -> None:
        """Kill the registry by pid (its storage in workdir stays for inspection)."""
        terminate(self.pid, str(self.config), grace_s=10)
        state.record("registries", str(self.config), None)


def stop_recorded(key: str | None = None) -> list[str]:
    """Stop registries recorded in the state file (all, or the one for config path key); return their addrs."""
    stopped = []
    for config, entry in state.load().get("registries", {}).items():
        if key is None or config == key:
            terminate(entry.get("pid"), entry.get("marker", config), grace_s=10)
            state.record("registries", config, None)
            stopped.append(str(entry.get("addr", config)))
    return stopped


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for htpasswd: apache2-utils' htpasswd if present, else libxcrypt through Python's crypt.

    Python's stdlib has no bcrypt of its own, and ``openssl passwd`` cannot make one;
    Debian's libcrypt (libxcrypt) does "$2b$" and Python 3.11's ``crypt`` module exposes
    it (deprecated, removed in 3.13). Last resort: ``caddy hash-password`` (cost 14,
    so every authenticated registry request then costs about a second).
    """
    htpasswd = shutil.which("htpasswd")
    if htpasswd:
        out = run([htpasswd, "-nbB", "-C", str(BCRYPT_COST), "u", password]).stdout.strip()
        return out.split(":", 1)[1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt

            hashed: str | None = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2**BCRYPT_COST))
        if hashed and hashed.startswith("$2"):
            return hashed
    except (ImportError, AttributeError, OSError):
        pass
    caddy = shutil.which("caddy")
    if caddy:
        out = run([caddy, "hash-password", "--algorithm", "bcrypt", "--plaintext", password]).stdout.strip()
        import base64

        return base64.b64decode(out).decode() if not out.startswith("$2") else out
    raise TestbedError("no bcrypt available: install apache2-utils (htpasswd)")


def make_tls(workdir: Path, host: str) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for host (IP or DNS SAN); returns (ca.crt, cert, key)."""
    certs = workdir / "certs"  # only ca.crt here: usable as a certs.d / --cert-dir directory
    keys = workdir / "tls"
    certs.mkdir(parents=True, exist_ok=True)
    keys.mkdir(parents=True, exist_ok=True)
    ca, ca_key = certs / "ca.crt", keys / "ca.key"
    cert, key, csr, ext = keys / "server.crt", keys / "server.key", keys / "server.csr", keys / "server.ext"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "30",
         "-subj", "/CN=goship test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    san_kind = "IP" if _is_ip(host) else "DNS"
    ext.write_text(f"subjectAltName={san_kind}:{host},IP:127.0.0.1,DNS:localhost\n"
                   "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={host}"])
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-out", str(cert), "-days", "30", "-extfile", str(ext)])
    return ca, cert, key


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return True
    except OSError:
        return False


def free_port(host: str) -> int:
    """A port the kernel says is free on host right now (the registry binds it a moment later)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(url: str, ca_file: Path | None) -> bool:
    """True when GET /v2/ returns 200 (open) or 401 (auth required)."""
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    try:
        with urllib.request.urlopen(f"{url}/v2/", timeout=2, context=context) as resp:
            return bool(resp.status == 200)
    except urllib.error.HTTPError as err:
        return err.code == 401
    except (OSError, ssl.SSLError):
        return False


def start_registry(workdir: Path, host: str = "127.0.0.1", port: int = 0, htpasswd: tuple[str, str] | None = None,
                   tls: bool = False, deadline_s: float = 30,
                   token_auth: dict[str, Any] | None = None) -> Registry:
    """Start ``docker-registry serve`` on host:port (0 = a free port); return when /v2/ answers.

    ``token_auth``: the ``auth`` section for Bearer tokens (testbed.tokenserver.TokenServer.registry_auth()).
    """
    if not REGISTRY_BINARY.exists():
        raise TestbedError(f"{REGISTRY_BINARY} missing: install Debian's docker-registry package")
    workdir.mkdir(parents=True, exist_ok=True)
    stop_recorded(str(workdir / "config.yml"))  # a registry an earlier run left on this workdir
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "storage")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"secret": "goship-testbed", "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    ca_file = None
    if tls:
        ca_file, cert, key = make_tls(workdir, host)
        config["http"]["tls"] = {"certificate": str(cert), "key": str(key)}
    if htpasswd:
        user, password = htpasswd
        (workdir / "htpasswd").write_text(f"{user}:{bcrypt_hash(password)}\n")
        config["auth"] = {"htpasswd": {"realm": "goship-test", "path": str(workdir / "htpasswd")}}
    if token_auth:
        config["auth"] = token_auth
    for _attempt in range(5):
        reg = _launch(workdir, host, port or free_port(host), config, ca_file, htpasswd, deadline_s)
        if reg is not None:
            return reg
        if port:
            raise TestbedError(f"port {host}:{port} is in use; {workdir / 'registry.log'}")
    raise TestbedError(f"no free port for the registry on {host} after 5 attempts")


def _launch(workdir: Path, host: str, port: int, config: dict[str, Any], ca_file: Path | None,
            htpasswd: tuple[str, str] | None, deadline_s: float) -> Registry | None:
    """One start attempt on port: the Registry once /v2/ answers, None if the port was taken meanwhile."""
    config_path, log = workdir / "config.yml", workdir / "registry.log"
    config["http"]["addr"] = f"{host}:{port}"
    config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(REGISTRY_BINARY), "serve", str(config_path)], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=workdir,
                                env=system_env())
    reg = Registry(host, port, workdir, proc.pid, config_path, log, ca_file,
                   htpasswd[0] if htpasswd else None, htpasswd[1] if htpasswd else None)
    state.record("registries", str(config_path), {"pid": proc.pid, "marker": str(config_path), "addr": reg.addr})

    def ready() -> bool:
        return proc.poll() is not None or _answers(reg.url, ca_file)

    try:
        wait_until(ready, deadline_s, f"the registry on {reg.addr}", lambda: f"; {log}:\n{tail(log)}")
    except BaseException:
        reg.stop()
        raise
    if proc.poll() is None:
        return reg
    state.record("registries", str(config_path), None)
    if "address already in use" in tail(log, 5):
        return None
    raise TestbedError(f"docker-registry exited with {proc.returncode}; {log}:\n{tail(log)}")
