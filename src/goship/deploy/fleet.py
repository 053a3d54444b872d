"""Target kinds ``hosts`` and ``local``: Docker hosts, each with its own proxy.

A deploy rolls across the hosts ``deploy.batch`` at a time, each host
through ``rollout.deploy_to_host``; any failure (or Ctrl-C) returns the
hosts already switched to what they ran before, through the same path as
``goship rollback``. The operate commands apply ``goship.deploy.operate``
to each host.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from goship.deploy import history, lock, operate
from goship.deploy.clock import Cancellable, Clock, checkpoint, uninterrupted
from goship.deploy.release import HostResult, Release, make_release
from goship.deploy.rollout import ImageProvider, Known, deploy_to_host, ensure_image, live_container
from goship.deploy.specs import MAIN_PROCESS
from goship.deploy.target import DeployResult, HostStatus, ImageSource, Releases, Removed, TargetContext
from goship.deploy.targets import Host
from goship.errors import DeployError, GoshipError, Interrupted
from goship.events import Stage
from goship.project import Project
from goship.stages import start, wait_interruptible


class DockerHosts:
    """A list of Docker hosts (or this machine's engine alone) as one target."""

    def __init__(self, project: Project, name: str, hosts: list[Host], context: TargetContext) -> None:
        self.project = project
        self.name = name
        self.hosts = hosts
        self.context = context

    @property
    def needs_registry(self) -> bool:
        return any(not host.local for host in self.hosts)

    def _stage(self, name: str) -> Stage:
        return Stage(self.context.reporter, name)

    def _clock(self) -> Cancellable:
        return Cancellable(self.context.clock, self.context.cancel)

    def close(self) -> None:
        for host in self.hosts:
            host.close()

    # --- deploying -----------------------------------------------------------------------

    def preflight(self) -> None:
        """Every host answers (SSH, host key, Docker), asked at the same time; the first
        failure (in the order of the target's hosts) is raised once all have answered."""
        stage = self._stage("preflight")

        def check(host: Host) -> None:
            version = host.engine.version().get("Version", "?")
            stage.on(host.name).ok(f"Docker {version}")

        with ThreadPoolExecutor(max_workers=max(1, len(self.hosts))) as pool:
            checks = [pool.submit(check, host) for host in self.hosts]
        for done in checks:
            done.result()

    def _provider(self, host: Host, image: ImageSource, auth: str | None) -> tuple[str, ImageProvider]:
        if host.local:
            return image.local_name, lambda engine: image.load_into(engine, auth)
        reference = image.reference
        assert reference is not None  # checked before any host changed
        return reference, lambda engine: engine.pull(reference, auth)

    def deploy(self, release: Release, image: ImageSource) -> DeployResult:
        """``deploy.batch`` hosts at a time. The cancel event (the first Ctrl-C) stops every
        host at its next safe point: before its new container starts, while it is probed,
        before the switch, or during the watch (then it switches back). Hosts already
        switched are rolled back, and ``Interrupted`` says what runs where."""
        if self.needs_registry and image.reference is None:
            raise DeployError(
                f"image {image.tag} ({image.digest[:19]}) has not been pushed",
                hint="run 'goship push' (or 'goship ship TARGET', which pushes)",
            )
        stage = self._stage("deploy")
        cancel = self.context.cancel
        clock = self._clock()
        # A remote host pulls; so does this machine's engine for an image that is only in the registry.
        pulls = self.needs_registry or image.archive is None
        auth = self.context.pull_auth(image.reference) if image.reference and pulls else None
        batch = max(1, self.project.config.deploy.batch)
        done: list[tuple[Host, HostResult]] = []

        def one(host: Host) -> HostResult:
            checkpoint(clock)
            reference, provider = self._provider(host, image, auth)
            stage.step(f"deploying {release.service} {release.version} to {host.name}")
            result = deploy_to_host(host, dataclasses.replace(release, image=reference), provider, stage, clock)
            stage.ok(f"live at {result.url}", url=result.url, container=result.container)
            return result

        for first in range(0, len(self.hosts), batch):
            group = self.hosts[first : first + batch]
            failure: GoshipError | None = Interrupted("interrupted") if cancel.is_set() else None
            if failure is None:
                futures = [(host, start(one, host, name=f"goship-deploy-{host.name}")) for host in group]
                _wait_all([future for _, future in futures], cancel, stage)
                for host, future in futures:
                    try:
                        done.append((host, future.result()))
                    except GoshipError as exc:
                        failure = failure or exc
            if failure is not None:
                summary = self._roll_back(done, stage)
                if cancel.is_set():
                    raise Interrupted(
                        "interrupted: every host stopped at a safe point, nothing is half-switched",
                        details=tuple(summary),
                    )
                failure.details = (*failure.details, *summary)
                raise failure
        return DeployResult(self.name, release.version, tuple(result for _, result in done))

    def _roll_back(self, done: list[tuple[Host, HostResult]], stage: Stage) -> list[str]:
        """Return the hosts this deploy already switched to what they ran before;
        say exactly what runs where afterwards."""
        summary = []
        clock = uninterrupted(self._clock())
        for host, result in done:
            if result.previous_image is None:
                summary.append(f"{host.name}: kept the new version (there was no previous one)")
                continue
            version = result.previous_version or "previous"
            try:
                self._restore(host, version, result.previous_image, "", "", stage, clock, roles=result.previous_roles)
                summary.append(f"{host.name}: rolled back to {version}")
            except GoshipError as exc:
                summary.append(f"{host.name}: ROLLBACK FAILED, runs the new version: {exc.message}")
        switched = {host.name for host, _ in done}
        untouched = [h.name for h in self.hosts if h.name not in switched]
        if untouched:
            summary.append(f"unchanged (previous version): {', '.join(untouched)}")
        return summary

    def _restore(
        self,
        host: Host,
        version: str,
        image: str,
        digest: str,
        revision: str,
        stage: Stage,
        clock: Clock,
        known: Known | None = None,
        *,
        roles: tuple[str, ...] | None = None,
    ) -> HostResult:
        """The one way back to an earlier release on a host: its kept image (else pulled
        by digest with the deployer's credentials, asked for only then), through the same
        health gate and switch as any deploy, recorded as a rollback. ``roles``: the processes
        that release ran (its image has no program for a role added since); None: all."""
        release = make_release(self.project, version, image, digest, revision, kind="rollback").only(roles)
        gone = [name for name in roles or () if name not in release.role_names]
        if gone:
            # Its settings are no longer in goship.yaml: goship cannot start it as it ran.
            stage.on(host.name).warn(
                f"{version} also ran {', '.join(gone)}, which goship.yaml no longer has: not restored"
            )
        pull = self.context.pull_auth
        auth = None if host.local or "@" not in image else (lambda: pull(image))
        return deploy_to_host(host, release, lambda engine: ensure_image(engine, image, auth), stage, clock, known)

    def rollback(self, version: str | None = None) -> list[HostResult]:
        stage = self._stage("rollback")
        clock = self._clock()
        service = self.project.service
        results = []
        for host in self.hosts:
            records = history.read(host.engine, service)
            current = live_container(host, service)
            chosen = history.rollback_candidate(records, current, version)
            if chosen is None:
                wanted = f"release {version}" if version else "earlier successful release"
                raise DeployError(
                    f"{host.name}: {service} has no {wanted} to roll back to",
                    hint="see 'goship releases' for what ran there",
                )
            stage.on(host.name).step(f"rolling back to {chosen.version} ({chosen.when()})")
            results.append(
                self._restore(
                    host, chosen.version, chosen.image, chosen.digest, chosen.revision, stage, clock,
                    Known(records, current), roles=chosen.processes,
                )
            )
        return results

    # --- operating -----------------------------------------------------------------------

    def status(self, *, role: str | None = None) -> list[HostStatus]:
        roles = [operate.known_role(self.project, role)] if role else operate.roles(self.project)
        return [row for host in self.hosts for row in operate.status(self.project, host, roles)]

    def releases(self, *, role: str | None = None) -> Releases:
        wanted = operate.known_role(self.project, role) if role else None
        return [(host.name, operate.releases(host, self.project.service, wanted)) for host in self.hosts]

    def lock_status(self) -> list[tuple[str, lock.LockInfo | None]]:
        return [(host.name, lock.status(host.engine, self.project.service)) for host in self.hosts]

    def lock_release(self) -> list[tuple[str, lock.LockInfo | None]]:
        return [(host.name, operate.release_lock(host, self.project.service)) for host in self.hosts]

    def logs(self, *, tail: int = 100, follow: bool = False, role: str | None = None) -> Iterator[tuple[str, str]]:
        process = operate.known_role(self.project, role or MAIN_PROCESS)
        named = [
            (host, name, host.name if len(names) == 1 else f"{host.name} {name}")
            for host in self.hosts
            for names in [operate.containers_or_fail(host, self.project.service, process)]
            for name in names
        ]
        if follow:
            yield from operate.follow_logs(named, tail)
            return
        for host, name, where in named:
            for line in host.engine.logs(name, tail=tail):
                yield where, line

    def exec(
        self, command: list[str], *, interactive: bool = False, output: Callable[[str, str], None] | None = None,
        role: str | None = None,
    ) -> int:
        process = operate.known_role(self.project, role or MAIN_PROCESS)
        worst = 0
        for host in self.hosts:
            # One container of the process per host (the first of its replicas).
            name = operate.containers_or_fail(host, self.project.service, process)[0]
            worst = max(worst, operate.exec_in(host, name, command, interactive, output))
        return worst

    def data_volumes(self) -> list[tuple[str, list[str]]]:
        return [(host.name, operate.data_volumes(host, self.project.service)) for host in self.hosts]

    def remove(self, *, purge: bool = False, proxy: bool = False) -> list[Removed]:
        stage = self._stage("remove")
        clock = self.context.clock
        return [operate.remove(self.project, host, purge, proxy, stage.on(host.name), clock) for host in self.hosts]


def _wait_all(futures: list[Future[HostResult]], cancel: threading.Event, stage: Stage) -> None:
    """Every host's deploy, waited for where Ctrl-C arrives (see ``stages.wait_interruptible``)."""
    pending = list(futures)
    while pending:
        finished = wait_interruptible(pending, cancel, stage)
        pending = [future for future in pending if future not in finished]
