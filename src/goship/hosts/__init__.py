"""Connections to Docker hosts: this machine's engine, or one over SSH.

A ``HostConnection`` pairs the engine client (every action on the host)
with a prober (HTTP probes as seen from the host) for one command's run.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from goship.config.values import parse_host
from goship.engine.client import Engine
from goship.engine.endpoint import Endpoint, resolve
from goship.engine.http import StreamTransport
from goship.engine.streams import Stream, StreamClosed, connect_npipe, connect_tcp, connect_unix
from goship.errors import EngineUnreachable
from goship.hosts.probe import LocalProber, Prober
from goship.hosts.ssh import SSHConnection, SSHTarget

LOCAL = "local"


@dataclass
class HostConnection:
    name: str
    engine: Engine
    prober: Prober

    @property
    def ssh(self) -> SSHConnection | None:
        """The SSH connection behind a remote host (for ``goship exec -i``): its prober."""
        return self.prober if isinstance(self.prober, SSHConnection) else None

    def close(self) -> None:
        self.engine.close()
        self.prober.close()


def connect_ssh(target: SSHTarget, shell: str = "sh", name: str | None = None) -> HostConnection:
    """A host over SSH, named ``name`` in messages (default: its ``[user@]host[:port]``)."""
    ssh = SSHConnection(target, shell)
    name = ssh.name if name is None else name
    return HostConnection(name, Engine(StreamTransport(ssh.open_stream), name), ssh)


def _tls_context(endpoint: Endpoint) -> ssl.SSLContext | None:
    if endpoint.tls is None:
        return None
    tls = endpoint.tls
    context = ssl.create_default_context(cafile=str(tls.ca) if tls.ca and tls.ca.exists() else None)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert and tls.key:
        try:
            context.load_cert_chain(str(tls.cert), str(tls.key))
        except (OSError, ssl.SSLError) as exc:
            raise EngineUnreachable(
                f"cannot read the Docker TLS client certificate {tls.cert}: {exc}",
                hint="check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)",
            ) from None
    return context


def local_opener(endpoint: Endpoint) -> Callable[[], Stream]:
    """A function opening a stream to the local engine at ``endpoint``."""
    scheme = endpoint.scheme
    if scheme == "unix":
        path = endpoint.socket_path()
        return lambda: connect_unix(path)
    if scheme == "npipe":
        pipe = endpoint.socket_path()
        return lambda: connect_npipe(pipe)
    if scheme == "tcp":
        address = endpoint.address.rstrip("/")
        host, _, port_text = address.rpartition(":")
        port = int(port_text) if port_text.isdigit() else (2376 if endpoint.tls else 2375)
        host = (host or address).strip("[]")
        context = _tls_context(endpoint)
        return lambda: connect_tcp(host, port, context)
    raise EngineUnreachable(f"{endpoint.source}: {endpoint.host} is not supported")



def connect_local(env: Mapping[str, str] | None = None) -> HostConnection:
    """This machine's engine: DOCKER_HOST, the docker context, or the default socket or pipe."""
    endpoint = resolve(env)
    if endpoint.scheme == "ssh":
        user, host, port = parse_host(endpoint.address.rstrip("/"))
        return connect_ssh(SSHTarget(host, user, port), name=LOCAL)
    opener = local_opener(endpoint)

    def open_checked() -> Stream:
        try:
            return opener()
        except StreamClosed as exc:
            source = "" if endpoint.source == "default" else f" ({endpoint.source})"
            raise EngineUnreachable(
                f"no Docker engine answers at {endpoint.host}{source}: {exc.reason}",
                hint=_start_hint(),
            ) from None

    return HostConnection(LOCAL, Engine(StreamTransport(open_checked), LOCAL), LocalProber())


def _start_hint() -> str:
    if os.name == "nt":
        return "start Docker Desktop (or set DOCKER_HOST to a running engine)"
    return "start Docker (Docker Desktop, or 'sudo systemctl start docker'), or point DOCKER_HOST at a running engine"
