"""The ``goship`` command: a thin layer over the library (``goship.commands.pipeline`` and friends).

User errors (GoshipError) print one line, optional evidence and a hint,
and exit non-zero; anything else is a bug: a short message, with the
traceback written to a log file rather than thrown at the user.

argparse (not a CLI framework) keeps the command free of dependencies
whose internals change between releases. Each command imports what it
uses when it runs, so ``goship --help`` loads almost nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from goship._version import __version__
from goship.config.names import BUILDERS, LOCAL_TARGET
from goship.errors import ExitCode, GoshipError, ProjectError, UsageError
from goship.ui import err, out, say

if TYPE_CHECKING:
    from goship.deploy.target import DeployResult
    from goship.events import Reporter
    from goship.project import Project
    from goship.session import Session



class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """A usage error is a goship error: one line, the usage as the hint, exit status 2,
        and a JSON object too with --json (main renders it like any other)."""
        where = f"{self.prog}: " if self.prog != "goship" else ""
        raise UsageError(f"{where}{message}", hint=_usage_hint(self))

    def _check_value(self, action: argparse.Action, value: object) -> None:
        """A value that is not one of the choices (a command too) gets a did-you-mean."""
        if action.choices is None or value in action.choices:
            return
        if isinstance(action, argparse._SubParsersAction):
            visible = [choice.dest for choice in action._choices_actions]
            raise UsageError(f"unknown command {value!r}{_did_you_mean(str(value), visible)}",
                             hint="goship help lists the commands")
        known = [str(choice) for choice in action.choices]
        name = "/".join(action.option_strings) or str(action.metavar or action.dest)
        raise UsageError(
            f"{self.prog}: {name}: {value!r} is not one of {', '.join(known)}{_did_you_mean(str(value), known)}",
            hint=_usage_hint(self),
        )


def _usage_hint(parser: argparse.ArgumentParser) -> str:
    """The parser's usage on one line, and where the whole help is."""
    usage = " ".join(parser.format_usage().split())
    command = parser.prog.removeprefix("goship").strip()
    return f"{usage}; " + (f"goship help {command} explains each option" if command else "goship help lists the commands")


def _did_you_mean(word: str, known: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    if close:  # only the best: 'stauts' is status, not also tags

        def ratio(name: str) -> float:
            return difflib.SequenceMatcher(None, word, name).ratio()

        close = [name for name in close if ratio(name) >= ratio(close[0]) - 0.05]
    else:
        close = [name for name in known if name.startswith(word)][:3] if word else []
    return f" (did you mean {' or '.join(repr(name) for name in close)}?)" if close else ""


def _unknown_options(parser: argparse.ArgumentParser, command: str | None, extras: list[str]) -> UsageError:
    """Words no parser took: a mistyped flag gets the closest flags of its command."""
    from goship.commands.reference.spec import command_parsers

    sub = command_parsers(parser).get(command or "", parser)
    flags = list(dict.fromkeys(flag for action in (*parser._actions, *sub._actions) for flag in action.option_strings))
    first = extras[0]
    if first.startswith("-"):
        name = first.split("=", 1)[0]
        message = f"unknown option {name}{_did_you_mean(name, flags)}"
    else:
        message = f"unexpected argument {first!r}"
    return UsageError(f"{sub.prog}: {message}", hint=_usage_hint(sub))


def _project(args: argparse.Namespace) -> Project:
    """The project, as the command's target (if it names one) sees it: build, push
    and deploy then all use targets.NAME's settings."""
    from goship.project import load_project

    project = load_project(args.dir, args.config)
    target = getattr(args, "target", None)
    return project.for_target(target) if isinstance(target, str) else project


def _reporter(args: argparse.Namespace) -> Reporter:
    from goship.events import JSONReporter
    from goship.ui import ConsoleReporter

    return JSONReporter(sys.stdout) if args.json else ConsoleReporter()


def _session(args: argparse.Namespace, cancel: threading.Event | None = None) -> Session:
    """The session of this command: its project, reporter and Ctrl-C event (closed with ``with``)."""
    from goship.session import Session

    return Session(_project(args), reporter=_reporter(args), cancel=cancel)


def cmd_build(args: argparse.Namespace) -> None:
    """Build the service's image: natively (no Docker needed) or from its Dockerfile."""
    from goship.builders.outputs import check_output, parse_output
    from goship.commands import pipeline

    with _session(args) as session:
        outputs = [parse_output(text, Path.cwd()) for text in args.output or []]
        for output in outputs:  # a bad path or a missing 'image' fails now, not after a long build
            check_output(output)
            if output.kind == "registry":
                pipeline.registry_repository(session.project)
        built = pipeline.build(session, builder=args.builder)
        pipeline.write_outputs(session, built, outputs)
    if not args.json:
        out(f"{built.tag} {built.digest}")


def cmd_sbom(args: argparse.Namespace) -> None:
    """Show the SBOM (SPDX or CycloneDX) of IMAGE in a registry, or of the last build."""
    from goship.commands import sbom as sboms

    if args.image:
        try:
            project: Project | None = _project(args)
        except GoshipError:
            project = None  # a reference alone is enough; goship.yaml only adds registry settings
        found = sboms.remote_sboms(args.image, project)
    else:
        found = sboms.local_sboms(_project(args))
    found = sboms.choose(found, args.platform)
    if args.format in ("spdx-json", "cyclonedx-json"):
        if len(found) > 1:
            raise GoshipError(
                f"the image has {len(found)} SBOMs, one per platform",
                hint="choose one with --platform " + " or ".join(s.platform for s in found),
            )
        print(json.dumps(found[0].as_format(args.format.removesuffix("-json")), indent=2, sort_keys=True))
        return
    if args.json:
        _print_json({"sboms": [
            {"platform": sbom.platform, "subject": sbom.subject, "packages": sbom.packages()} for sbom in found
        ]})
        return
    for sbom in found:
        say((sbom.platform, "bold"), (f" {sbom.subject}", None))
        for name, version, purl in sbom.packages():
            out(f"  {name:<50} {version:<28} {purl}")


def cmd_push(args: argparse.Namespace) -> None:
    """Push the last built image to the registry named by 'image'."""
    from goship.commands import pipeline

    with _session(args) as session:
        result = pipeline.push(session)
    if not args.json:
        out(result.reference)


def _print_live(args: argparse.Namespace, result: DeployResult) -> None:
    if not args.json:
        for host in result.hosts:
            out(f"live at {host.url}  ({host.host}, {result.version})")


@contextmanager
def _safe_interrupts() -> Iterator[threading.Event]:
    """The first Ctrl-C asks the deploy to stop at a safe point (the returned event);
    the second stops at once."""
    event = threading.Event()

    def interrupted(signum: int, frame: object) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()
        err("interrupted: stopping at a safe point (Ctrl-C again to stop at once)", "yellow")

    try:
        previous = signal.signal(signal.SIGINT, interrupted)
    except ValueError:  # not the main thread (goship.cli.main called from a thread): keep the default
        yield event
        return
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_deploy(args: argparse.Namespace) -> None:
    """Deploy the last built image (or a pushed one: --version, --image) to TARGET with a health gate and no downtime."""
    from goship.commands import pipeline

    with _safe_interrupts() as cancel, _session(args, cancel) as session:
        _print_live(args, pipeline.deploy(session, args.target, version=args.version, image=args.image))


def cmd_ship(args: argparse.Namespace) -> None:
    """Build, push (for remote targets) and deploy, in one go."""
    from goship.commands import pipeline

    with _safe_interrupts() as cancel, _session(args, cancel) as session:
        _print_live(args, pipeline.ship(session, args.target))


def cmd_lock(args: argparse.Namespace) -> None:
    """Show or release the deploy lock of the service on each host of TARGET."""
    from goship.commands import operations

    project = _project(args)
    release = args.action == "release"
    found = (operations.lock_release if release else operations.lock_status)(project, args.target)
    if args.json:
        key = "released" if release else "holder"
        _print_json({"target": args.target, "hosts": [
            {"host": host, "locked": held is not None and not release, key: held.describe() if held else None}
            for host, held in found
        ]})
        return
    for host, held in found:
        if release:
            out(f"{host}: released lock of {held.describe()}" if held else f"{host}: not locked")
        else:
            out(f"{host}: locked by {held.describe()}" if held else f"{host}: not locked")


def cmd_releases(args: argparse.Namespace) -> None:
    """List the releases of the service on each host of TARGET, newest first."""
    import dataclasses

    from goship.commands import operations

    found = operations.releases(_project(args), args.target, role=args.role)
    if args.json:
        _print_json({"target": args.target, "releases": [
            {**dataclasses.asdict(record), "state": state} for _, records in found for record, state in records
        ]})
        return
    for host, records in found:
        out(host, "bold") if records else out(f"{host}: no releases recorded")
        for record, state in reversed(records):
            reason = f"  {record.reason}" if record.reason else ""
            processes = f"  [{', '.join(record.processes)}]" if record.roles else ""
            out(f"  {record.when()}  {state:<15}  {record.version:<28}  {record.deployed_by}{processes}{reason}")


def cmd_rollback(args: argparse.Namespace) -> None:
    """Return TARGET to the previous release (or VERSION) from the kept image."""
    from goship.commands import operations

    with _safe_interrupts() as cancel, _session(args, cancel) as session:
        results = operations.rollback(session, args.target, args.version)
    if not args.json:
        for host in results:
            out(f"live at {host.url}  ({host.host}, {host.container})")


def cmd_remove(args: argparse.Namespace) -> None:
    """Take the service off TARGET: containers, route, lock, state (history with --purge)."""
    from goship.commands import operations

    project = _project(args)
    if not args.yes and not sys.stdin.isatty():
        raise GoshipError(
            f"goship remove takes {project.service} off '{args.target}'"
            + (" and deletes its release history and data volumes" if args.purge else "") + ": confirm with --yes",
            hint=f"goship remove {args.target} --yes" + (" --purge" if args.purge else ""),
        )
    with _session(args) as session:
        if not args.yes and not _confirm_remove(session, project.service, args.target, args.purge):
            err("nothing removed")
            return
        removed_from = operations.remove(session, args.target, purge=args.purge, proxy=args.proxy)
    for removed in removed_from:
        if args.json:  # one more event of the stream: what went, what stayed
            from goship.events import Event, JSONReporter

            JSONReporter(sys.stdout).emit(Event(
                "remove", "ok", f"removed {', '.join(removed.done) or 'nothing'}", removed.host,
                {"removed": list(removed.done), "kept": list(removed.kept)},
            ))
            continue
        out(f"{removed.host}: removed {', '.join(removed.done) or 'nothing (it was not there)'}")
        for line in removed.kept:
            out(f"{removed.host}: kept {line}")


def _confirm_remove(session: Session, service: str, target: str, purge: bool) -> bool:
    """Ask before removing; with ``purge``, name each data volume that would be deleted, host by host."""
    from goship.commands import operations

    extra = ""
    if purge:
        extra = " and its release history"
        found = [(host, names) for host, names in operations.data_volumes(session, target) if names]
        if found:
            extra += " and DELETE its data volumes"
            out(f"--purge deletes the data of {service} (it cannot be undone):")
            for host, names in found:
                out(f"  {host}: {', '.join(names)}")
    answer = input(f"Remove {service}{extra} from every host of '{target}'? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def cmd_status(args: argparse.Namespace) -> None:
    """Show, per host of TARGET, the live version, its state and health."""
    import dataclasses

    from goship.commands import operations

    rows = operations.status(_project(args), args.target, role=args.role)
    if args.json:
        _print_json({"target": args.target, "hosts": [dataclasses.asdict(row) for row in rows]})
        return
    for row in rows:
        # The main process is named only beside roles, so a service without them reads as before.
        role = f" {row.role}" if row.role != "web" or row.containers != 1 or args.role else ""
        count = f" x{row.containers}" if row.containers > 1 else ""
        out(
            f"{row.host}{role}{count}: {row.state}  version={row.version or '-'}  container={row.container or '-'}  "
            f"started={row.started or '-'}  health={row.health}  {row.url}"
            + (f"  proxy: {row.proxy}" if row.proxy != "running" else ""),
        )


def cmd_logs(args: argparse.Namespace) -> None:
    """Print (or follow with -f) the log of the live container on each host of TARGET."""
    from goship.commands import operations

    for host, line in operations.logs(_project(args), args.target, tail=args.tail, follow=args.follow, role=args.role):
        print(json.dumps({"host": host, "line": line}) if args.json else f"{host} | {line}", flush=True)


def cmd_exec(args: argparse.Namespace) -> None:
    """Run a command in the live container on each host of TARGET."""
    from goship.commands import operations

    command = args.command
    if not command:
        raise GoshipError("no command given", hint="goship exec production -- /usr/local/bin/app --version")
    def show(host: str, line: str) -> None:
        if args.json:
            print(json.dumps({"host": host, "line": line}), flush=True)
        else:
            print(line if args.target == LOCAL_TARGET else f"{host} | {line}", flush=True)

    sys.exit(operations.exec_in(
        _project(args), args.target, command, interactive=args.interactive, output=show, role=args.role
    ))


def cmd_doctor(args: argparse.Namespace) -> None:
    """Check this machine and the target hosts: each check PASS/WARN/FAIL with the fix."""
    from goship.commands import doctor

    context = doctor.load_context(args.dir, args.config)
    report = doctor.run_checks(doctor.RealMachine(), context)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        doctor.render_text(report)
    sys.exit(report.exit_code)


def _optional_project(args: argparse.Namespace, needed: bool) -> Project | None:
    """The project when there is one; commands naming a registry work without."""
    try:
        return _project(args)
    except ProjectError:
        if needed:
            raise
        return None


def _login_password(args: argparse.Namespace) -> str:
    """From stdin (--password-stdin), GOSHIP_REGISTRY_PASSWORD, or a prompt; never an argument."""
    import getpass

    if args.password_stdin:
        password = sys.stdin.read().rstrip("\r\n")
    elif os.environ.get("GOSHIP_REGISTRY_PASSWORD") is not None:
        password = os.environ["GOSHIP_REGISTRY_PASSWORD"]
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        raise GoshipError(
            "no password given", hint="pipe it in with --password-stdin, or set GOSHIP_REGISTRY_PASSWORD"
        )
    if not password:
        raise GoshipError("the password is empty")
    return password


def cmd_login(args: argparse.Namespace) -> None:
    """Check a registry login and store it in the docker config (or its credential helper)."""
    from goship.commands import accounts
    from goship.registry.credentials import Credentials

    project = _optional_project(args, needed=args.registry is None)
    where = accounts.settings(project, args.registry)
    username = args.username or os.environ.get("GOSHIP_REGISTRY_USERNAME") or where.username
    if not username and sys.stdin.isatty() and not args.password_stdin:
        username = input("Username: ").strip()
    if not username:
        raise GoshipError("no user name given", hint="goship login -u USER")
    stored = accounts.login(where, Credentials(username, _login_password(args)))
    if args.json:
        _print_json({"registry": where.registry, "username": username, "stored_in": str(stored)})
        return
    out(f"Login Succeeded: {username} at {where.registry} (stored in {stored})")


def cmd_logout(args: argparse.Namespace) -> None:
    """Remove the stored login for a registry (default: the registry of 'image')."""
    from goship.commands import accounts

    project = _optional_project(args, needed=args.registry is None)
    registry = accounts.settings(project, args.registry).registry
    removed = accounts.logout(registry)
    if args.json:
        _print_json({"registry": registry, "removed": removed})
        return
    out(f"{'Removed login' if removed else 'Not logged in'} for {registry}")


def cmd_tags(args: argparse.Namespace) -> None:
    """List the tags of the image repository in the registry."""
    from goship.commands import accounts

    repository, tags = accounts.tags(_project(args))
    if not args.all:  # OCI 1.1 referrers fallback tags (sha256-<hex>) index SBOMs, not versions
        tags = [tag for tag in tags if not re.fullmatch(r"sha256-[0-9a-f]{64}", tag)]
    tags = sorted(tags)
    if args.json:
        print(json.dumps({"repository": repository, "tags": tags}))
        return
    for tag in tags:
        print(tag)


def cmd_test(args: argparse.Namespace) -> None:
    """Vet and test the module (or its workspace) with coverage: JUnit XML, a coverage gate, a linter when installed."""
    from goship.commands.gotest import TestOptions, run_tests
    from goship.commands.gotest.ci import github_annotations, markdown_summary
    from goship.events import NullReporter
    from goship.session import Session

    options = TestOptions(junit=args.junit, coverage_min=args.coverage_min, race=args.race, lint=args.lint)
    # With --json the report is the one document on stdout: progress stays off it.
    with Session(_project(args), reporter=NullReporter() if args.json else _reporter(args)) as session:
        report = run_tests(session, options)
    failure = report.failure()
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(report, Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())):
            print(line, flush=True)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(markdown_summary(report))
    if args.json:
        # One document, failures included; the exit status says whether it passed.
        _print_json({**report.document(), "ok": failure is None})
        if failure is not None:
            sys.exit(failure.exit_code)
        return
    _print_test_report(report)
    if failure is not None:
        raise failure


def _print_test_report(report: object) -> None:
    from goship.commands.gotest import TestReport

    assert isinstance(report, TestReport)
    for package in report.packages:
        if not package.name:
            for line in package.output:
                out(f"  {line}")
            continue
        coverage = f"  coverage {package.coverage:.1f}%" if package.coverage is not None else ""
        status = {"pass": "ok  ", "fail": "FAIL", "skip": "--  "}.get(package.result, "?   ")
        out(f"{status} {package.name}  {package.seconds:.2f}s{coverage}")
        if package.failed_without_a_test:
            for line in package.output[-20:]:
                out(f"      {line}")
        for case in report.failed():
            if case.package == package.name:
                where = case.where
                out(f"  --- FAIL {case.name}" + (f" ({where[0]}:{where[1]})" if where else ""))
                for line in case.output[-20:]:
                    if line.strip() and not line.lstrip().startswith(("=== RUN", "--- FAIL")):
                        out(f"      {line.strip()}")
    for title, lines in (("go vet", report.vet), (report.linter or "lint", report.lint)):
        if lines:
            out(f"{title}:")
            for line in lines[:40]:
                out(f"  {line}")
    counts = report.counts()
    coverage = "-" if report.coverage is None else f"{report.coverage:.1f}%"
    gate = "" if report.coverage_min is None else f" (gate {report.coverage_min:g}%)"
    out(
        f"{counts['packages']} packages, {counts['tests']} tests: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped; coverage {coverage}{gate}; race detector {'on' if report.race else 'off'}"
        + (f"; {report.linter}" if report.linter else "")
    )
    for note in report.notes:
        err(f"note: {note}")
    err(f"JUnit report: {report.junit}")


def _percentage(text: str) -> float:
    """--coverage-min: 0 to 100."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage (0-100)")
    return value


def cmd_ci(args: argparse.Namespace) -> None:
    """Write the CI workflow (GitHub Actions or GitLab CI) that lints, tests and ships this service."""
    from goship.commands import ci

    project = _project(args)
    plan = ci.plan_for(project, default_branch=args.branch)
    text = ci.render_github(plan) if args.system == "github" else ci.render_gitlab(plan)
    from goship.commands.ci.workflows import repository_root

    path = repository_root(project.root) / ci.WORKFLOW_PATHS[args.system]
    written = ci.write_workflow(path, text, force=args.force, dry_run=args.dry_run)
    if args.dry_run:
        sys.stdout.write(written.diff or f"nothing would change in {path}\n")
        return
    if args.json:
        _print_json({"path": str(path), "changed": written.changed, "targets": list(plan.targets)})
        return
    out(f"{'wrote' if written.changed else 'unchanged:'} {os.path.relpath(path)}")
    if not plan.targets:
        err("note: goship.yaml has no target with hosts: the workflow lints and tests only")
    else:
        err(f"deploys: {' -> '.join(plan.targets)} (the first is built and shipped, the rest get the same digest)")
    err("set the secrets GOSHIP_SSH_KEY, GOSHIP_REGISTRY_USERNAME, GOSHIP_REGISTRY_PASSWORD and GOSHIP_KNOWN_HOSTS")


def cmd_config(args: argparse.Namespace) -> None:
    """Print goship.yaml as TARGET sees it (its overrides merged, ${VAR} resolved, secrets masked)."""
    from goship.commands import show_config

    project = _project(argparse.Namespace(dir=args.dir, config=args.config))
    if args.target is not None and args.target not in project.config.targets and args.target != LOCAL_TARGET:
        from goship.deploy.targets import unknown_target

        raise unknown_target(project, args.target)
    text = project.config_path.read_text(encoding="utf-8-sig") if project.config_path else ""
    document = show_config.resolved(project, args.target, os.environ, text)
    if args.json:
        print(json.dumps(document, indent=2))
        return
    import yaml

    sys.stdout.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def cmd_schema(args: argparse.Namespace) -> None:
    """Print the JSON Schema of goship.yaml (or write it with -o), for editors."""
    from goship.config.schema import render

    if args.output is None:
        sys.stdout.write(render())
        return
    with open(args.output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(render())
    err(f"wrote {args.output}")


def cmd_dockerfile(args: argparse.Namespace) -> None:
    """Print an optimized multi-stage Dockerfile for the service (or write it with -o)."""
    from goship.commands.init.dockerfile import dockerfile_spec, render_dockerfile

    text = render_dockerfile(dockerfile_spec(_project(args)))
    if args.output is None:
        if args.json:
            _print_json({"dockerfile": text})
        else:
            sys.stdout.write(text)
        return
    if args.output.is_dir():
        raise ProjectError(f"-o {args.output}: is a directory", hint="name the file, e.g. -o Dockerfile")
    if args.output.exists() and not args.force and not _generated_by_goship(args.output):
        raise ProjectError(
            f"{args.output} exists and was not generated by goship: not overwriting it",
            hint="pass --force to replace it, or -o another file",
        )
    # newline="\n": a Dockerfile stays LF on Windows too.
    with open(args.output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    err(f"wrote {args.output}")
    if args.json:
        _print_json({"wrote": str(args.output)})


def _generated_by_goship(path: Path) -> bool:
    """Whether a Dockerfile carries goship's "generated by goship" header line."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace").splitlines()[:20]
    except OSError:
        return False
    return any(line.startswith("#") and "generated by goship" in line for line in head)


def _ask_main(choices: Sequence[str], default: str) -> str:
    """The numbered question of goship init, on a terminal only."""
    err("Several main packages; which one does this service ship?")
    for number, choice in enumerate(choices, start=1):
        err(f"  {number}) {choice}{'  (default)' if choice == default else ''}")
    for _ in range(3):
        answer = input(f"number [{choices.index(default) + 1}]: ").strip()
        if not answer:
            return default
        if answer.isdigit() and 1 <= int(answer) <= len(choices):
            return choices[int(answer) - 1]
        if answer in choices:
            return answer
        err(f"answer 1 to {len(choices)}")
    raise GoshipError("no main package chosen", hint="pass --main, e.g. --main " + choices[0])


def _port_number(text: str) -> int:
    """--port: a whole number (its range is checked with the other answers)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None


def cmd_init(args: argparse.Namespace) -> None:
    """Write goship.yaml, a Dockerfile, .dockerignore and .gitattributes for a Go module."""
    from goship.commands.init import init
    from goship.commands.init.plan import APPEND, KEEP, REPLACE

    if args.new and args.main is not None:
        raise ProjectError(
            "--main does not apply to --new: a new service's main package is its root",
            hint="drop --main (or run 'goship init --main ...' in an existing module)",
        )
    options = init.InitOptions(
        main=args.main, port=args.port, health_path=args.health_path, service=args.service,
        yes=args.yes or args.json, force=args.force,
    )
    if args.new:
        plan = init.plan_new(args.dir, args.new, args.module, init.installed_go_version(), options)
    else:
        interactive = sys.stdin.isatty() and not options.yes
        plan = init.plan_init(args.dir, options, ask=_ask_main if interactive else None)
    if args.json:
        if not args.dry_run:
            init.write_plan(plan)
        print(json.dumps(init.plan_report(plan, dry_run=args.dry_run), indent=2))
        return
    for note in plan.notes:
        err(f"  {note}")
    for warning in plan.warnings:
        say(("warning:", "yellow"), (f" {warning}", None), stderr=True)
    if args.dry_run:
        diff = init.render_diff(plan, base=Path.cwd())
        sys.stdout.write(diff or "nothing would change\n")
        return
    written = init.write_plan(plan)
    verbs = {REPLACE: "replaced", APPEND: "added LF rules to"}
    for item in written:
        out(f"{verbs.get(item.action, 'wrote')} {os.path.relpath(item.path)}")
    if not written:
        out(f"nothing to do: {os.path.relpath(plan.root)} has every file goship init writes")
    err(f"next: goship build -C {os.path.relpath(plan.root)}")
    if any(item.action == KEEP and item.path.name == "Dockerfile" for item in plan.files):
        err(f"      goship lint -C {os.path.relpath(plan.root)} (the Dockerfile is yours)")


_LINT_EPILOG = (
    "Rules GS1xx check the Dockerfile, .dockerignore and build context, GS2xx goship.yaml; "
    "hadolint's findings (DLxxxx, SCxxxx) are merged in when it is installed (pip install 'goship[lint]'). "
    "Silence a rule with --ignore ID, with a '# goship-ignore ID' comment on the line above the "
    "instruction, or file-wide with '# goship-ignore-file ID'. "
    "Exit status: 0 when no finding reaches --fail-on; otherwise 1 when the worst finding is a warning "
    "(or info) and 3 when it is an error; 2 when goship lint could not lint: not a Go module, a Dockerfile "
    "or go.mod that does not parse (--format json/sarif still write a report holding that error as GS100), "
    "or an output file it cannot write."
)


def cmd_lint(args: argparse.Namespace) -> None:
    """Check the Dockerfile, .dockerignore and goship.yaml for problems that bite in production."""
    from goship.commands.lint import RULES, Severity, lint_project
    from goship.commands.lint.findings import LintReport
    from goship.commands.lint.report import render
    from goship.commands.lint.run import failure_report, unknown_rule_ids
    from goship.errors import LintUsageError

    fmt = "json" if args.json and args.format == "text" else args.format
    output: Path | None = args.output
    if output is not None:
        # Before linting: a CI job should learn about a wrong -o path, not lose the report.
        if output.is_dir():
            raise LintUsageError(f"-o {output}: is a directory", hint="give a file name, e.g. -o lint.sarif")
        if not output.parent.is_dir():
            raise LintUsageError(
                f"-o {output}: directory {output.parent} does not exist", hint="create it first (mkdir -p)"
            )

    def emit(report: LintReport) -> None:
        if output is not None:
            try:
                # newline="\n": the same bytes on every OS, as code scanning uploads expect.
                with open(output, "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(render(report, fmt))
            except OSError as exc:
                raise LintUsageError(f"-o {output}: cannot write: {exc.strerror or exc}") from None
            err(f"wrote {output}")
        elif fmt == "text":
            from goship.commands.lint.report import text_lines

            for line in text_lines(report):
                say(*line)
        else:
            sys.stdout.write(render(report, fmt))

    ignore = [rule for value in args.ignore for rule in re.split(r"[,\s]+", value) if rule]
    for rule in unknown_rule_ids(ignore):
        err(
            f"warning: --ignore {rule}: no such rule; known: {', '.join(RULES)} and hadolint's DLxxxx/SCxxxx",
        )
    try:
        report = lint_project(
            args.dir,
            args.dockerfile,
            config_file=args.config,
            ignore=ignore,
            context_limit=int(args.context_limit * 1024 * 1024),
            hadolint=not args.no_hadolint,
        )
    except GoshipError as error:
        if fmt != "text":
            # A CI upload step still gets a valid document, holding the error.
            emit(failure_report(args.dir, error))
            # That document is the one on stdout: main adds no second one.
            args.json_written = output is None
        raise
    emit(report)
    fail_on = None if args.fail_on == "none" else Severity.parse(args.fail_on)
    sys.exit(report.exit_code(fail_on))


_TOP_EPILOG = (
    "Global options go before the command (goship -C services/api status) or after it. "
    "'goship help COMMAND' shows a command's options; 'goship help exit-codes', 'goship help environment' "
    "and 'goship help json' the exit statuses, the environment variables goship reads and what --json prints; "
    "'goship completion bash|zsh|fish|powershell' prints a shell completion script. "
    "The whole reference: docs/reference.md."
)

#: ``goship help TOPIC``: the topics that are not commands.
HELP_TOPICS = ("exit-codes", "environment", "json", "reference")


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """-C, -c and --json, before the command (as ``git -C``) and after it.

    After the command their default is SUPPRESS: argparse copies every value
    the command's parser sets over the top-level ones, so a default there
    would undo ``goship -C DIR status``.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_command else value

    parser.add_argument(
        "-C", "--dir", type=Path, default=default(Path(".")), help="the Go module to work on (default: .)"
    )
    parser.add_argument(
        "-c", "--config", type=Path, default=default(None), help="goship.yaml to use (default: beside go.mod)"
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False),
        help="print for machines: one JSON document, or JSON lines for streams (goship help json)",
    )


def _role_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--role", metavar="NAME", help=f"{what}; roles are in goship.yaml's roles:")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, after_command=True)

    parser = _Parser(
        prog="goship",
        description="Ship a Go service from source to a healthy container: build, push, deploy.",
        epilog=_TOP_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"goship {__version__}")
    _global_options(parser, after_command=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(
        name: str, func: Callable[[argparse.Namespace], None], target: bool = False, json_output: str = "document"
    ) -> argparse.ArgumentParser:
        """``json_output``: what --json prints, "document" or "lines" (a stream); see goship help json."""
        doc = (func.__doc__ or "").strip().splitlines()[0]
        sub = commands.add_parser(name, parents=[common], help=doc, description=doc)  # type: ignore[list-item]
        if target:
            sub.add_argument(
                "target",
                nargs="?",
                default=LOCAL_TARGET,
                help="target from goship.yaml; 'local' (default) is this machine's Docker engine",
            )
        sub.set_defaults(func=func, json_output=json_output)
        return sub

    build_parser_ = add("build", cmd_build, json_output="lines")
    build_parser_.add_argument("--builder", choices=list(BUILDERS), help="override build.builder")
    build_parser_.add_argument(
        "-o", "--output", action="append", metavar="KIND[:PATH]",
        help="also send the image to: oci:DIR, oci-archive:FILE, docker-archive:FILE, docker, registry (repeatable)",
    )
    sbom_parser = add("sbom", cmd_sbom)
    sbom_parser.add_argument("image", nargs="?", help="registry/repository:tag or @digest (default: the last build)")
    sbom_parser.add_argument("--platform", help="only this platform, e.g. linux/arm64")
    sbom_parser.add_argument(
        "--format", choices=["table", "spdx-json", "cyclonedx-json"], default="table",
        help="table (default), or the document as SPDX 2.3 or CycloneDX 1.6 JSON (converted when the image carries the other)",
    )
    add("push", cmd_push, json_output="lines")
    deploy_parser = add("deploy", cmd_deploy, target=True, json_output="lines")
    pushed_image = deploy_parser.add_mutually_exclusive_group()
    pushed_image.add_argument(
        "--version", metavar="V", help="deploy tag V of 'image' from the registry (by its digest), with no local build"
    )
    pushed_image.add_argument(
        "--image", metavar="REF@sha256:...", help="deploy this image from the registry, named by digest"
    )
    add("ship", cmd_ship, target=True, json_output="lines")
    releases_parser = add("releases", cmd_releases, target=True)
    _role_option(releases_parser, "only the releases that ran this process (default: all)")
    status_parser = add("status", cmd_status, target=True)
    _role_option(status_parser, "only this process (default: every one)")
    remove_parser = add("remove", cmd_remove, target=True, json_output="lines")
    remove_parser.add_argument(
        "--purge", action="store_true",
        help="also drop the release history, the service's images and its data volumes (asks first)",
    )
    remove_parser.add_argument("--proxy", action="store_true", help="also remove the proxy, even if it routes other services")
    remove_parser.add_argument("-y", "--yes", action="store_true", help="do not ask (needed without a terminal)")
    rollback_parser = add("rollback", cmd_rollback, target=True, json_output="lines")
    rollback_parser.add_argument("version", nargs="?", help="version to return to (default: the previous one)")
    logs_parser = add("logs", cmd_logs, target=True, json_output="lines")
    logs_parser.add_argument("-f", "--follow", action="store_true", help="keep streaming new lines")
    logs_parser.add_argument("-n", "--tail", type=int, default=100, help="lines from the end (default 100)")
    _role_option(logs_parser, "the process whose containers' log is shown (default: web, the main one)")
    exec_parser = add("exec", cmd_exec, target=True, json_output="lines")
    exec_parser.add_argument("-i", "--interactive", action="store_true", help="attach a terminal")
    _role_option(exec_parser, "the process to run the command beside (default: web, the main one)")
    # "*" after "--", not REMAINDER: options of exec (-i, --role) may then come after the
    # target too, and everything after "--" is the command, dashes and all (as kubectl exec).
    exec_parser.add_argument("command", nargs="*", help="-- then the command")
    lock_parser = add("lock", cmd_lock)
    lock_parser.add_argument("action", choices=["status", "release"])
    lock_parser.add_argument("target", nargs="?", default=LOCAL_TARGET, help="target (default: local)")
    add("doctor", cmd_doctor)
    login_parser = add("login", cmd_login)
    login_parser.add_argument("registry", nargs="?", help="registry host[:port] (default: the registry of 'image')")
    login_parser.add_argument("-u", "--username", help="user name (default: GOSHIP_REGISTRY_USERNAME or registry.username)")
    login_parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    logout_parser = add("logout", cmd_logout)
    logout_parser.add_argument("registry", nargs="?", help="registry host[:port] (default: the registry of 'image')")
    tags_parser = add("tags", cmd_tags)
    tags_parser.add_argument("--all", action="store_true", help="also list referrers tags (sha256-...)")
    test_parser = add("test", cmd_test)
    test_parser.add_argument("--junit", type=Path, metavar="FILE", help="write the JUnit XML report here (default: .goship/test/junit.xml)")
    test_parser.add_argument("--coverage-min", type=_percentage, metavar="PERCENT", help="override test.coverage_min")
    test_parser.add_argument("--race", choices=["auto", "on", "off"], help="override test.race")
    test_parser.add_argument("--lint", choices=["auto", "off", "required"], help="override test.lint")
    ci_parser = add("ci", cmd_ci)
    ci_parser.add_argument("system", choices=["github", "gitlab"], help="the CI system whose workflow to write")
    ci_parser.add_argument("--branch", default="main", help="the branch that deploys (default: main)")
    ci_parser.add_argument("--force", action="store_true", help="replace a workflow goship did not write")
    ci_parser.add_argument("--dry-run", action="store_true", help="show a diff of what would be written; write nothing")
    config_parser = add("config", cmd_config)
    config_parser.add_argument("target", nargs="?", help="the target whose settings to show (default: the top level)")
    schema_parser = add("schema", cmd_schema)
    schema_parser.add_argument("-o", "--output", type=Path, help="write to this file instead of printing")
    dockerfile_parser = add("dockerfile", cmd_dockerfile)
    dockerfile_parser.add_argument("-o", "--output", type=Path, help="write to this file instead of printing")
    dockerfile_parser.add_argument(
        "--force", action="store_true", help="with -o: replace a file that goship did not generate"
    )
    init_parser = add("init", cmd_init)
    init_parser.add_argument("--main", help="main package to ship, e.g. cmd/api (asked when several and on a terminal)")
    init_parser.add_argument("--port", type=_port_number, help="port the service listens on (default: found in the code, else 8080)")
    init_parser.add_argument(
        "--health-path",
        help="health check path (default: the health route found in the code; else none: a deploy waits for / "
        "to answer below 500 (health.type: answers), or for the port (tcp) when no HTTP package is imported; "
        "--new serves /healthz)",
    )
    init_parser.add_argument("--service", help="service name (default: from the module path)")
    init_parser.add_argument("-y", "--yes", action="store_true", help="ask nothing: take the default answers")
    init_parser.add_argument("--force", action="store_true", help="replace files that exist (default: keep them)")
    init_parser.add_argument("--dry-run", action="store_true", help="show a diff of what would be written; write nothing")
    init_parser.add_argument("--new", metavar="NAME", help="scaffold a new service in directory NAME first")
    init_parser.add_argument("--module", help="module path of --new (default: the last path component of NAME)")
    lint_parser = add("lint", cmd_lint)
    lint_parser.epilog = _LINT_EPILOG
    lint_parser.add_argument("--format", choices=["text", "json", "sarif"], default="text", help="output format (default: text)")
    lint_parser.add_argument("-o", "--output", type=Path, help="write the report to this file instead of printing it")
    lint_parser.add_argument("--ignore", action="append", default=[], metavar="ID", help="skip rule ID, e.g. GS104 or DL3018 (repeatable)")
    lint_parser.add_argument(
        "--fail-on", choices=["error", "warning", "info", "none"], default="warning",
        help="exit non-zero (1: worst is a warning, 3: an error) when a finding is this severe or worse (default: warning)",
    )
    lint_parser.add_argument("--dockerfile", type=Path, help="the Dockerfile to check (default: Dockerfile in the module)")
    lint_parser.add_argument(
        "--context-limit", type=_positive_megabytes, default=100, metavar="MB", help="report a build context larger than this (default: 100)"
    )
    lint_parser.add_argument("--no-hadolint", action="store_true", help="do not run hadolint even when it is installed")
    help_parser = add("help", cmd_help, json_output="")
    help_parser.add_argument(
        "topic", nargs="?", help=f"a command, or one of: {', '.join(HELP_TOPICS)} (default: the list of commands)"
    )
    completion_parser = add("completion", cmd_completion, json_output="")
    completion_parser.epilog = (
        "Load it once per shell session, or save it: "
        "bash: source <(goship completion bash) in ~/.bashrc; "
        "zsh: source <(goship completion zsh) in ~/.zshrc, after compinit; "
        "fish: goship completion fish > ~/.config/fish/completions/goship.fish; "
        "PowerShell: goship completion powershell | Out-String | Invoke-Expression in $PROFILE. "
        "Commands, options and their values are in the script; target names are read from goship.yaml "
        "when Tab is pressed."
    )
    completion_parser.add_argument("shell", nargs="?", choices=_SHELLS, help="the shell to complete for")
    completion_parser.add_argument("--targets", action="store_true", help=argparse.SUPPRESS)
    return parser


def _positive_megabytes(text: str) -> float:
    """--context-limit: a size in MB above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of megabytes: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 MB, got {text}")
    return value


def _log_crash() -> Path:
    import tempfile
    import traceback

    path = Path(tempfile.gettempdir()) / "goship-crash.log"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


def _print_json(document: object) -> None:
    """The one JSON document a command prints with --json."""
    print(json.dumps(document, indent=2, default=str))


def error_document(error: GoshipError) -> dict[str, object]:
    """What --json prints for a failure: the same facts as the text on stderr, as data."""
    from goship.errors import ConfigError, ConfigErrors

    document: dict[str, object] = {
        "error": error.message, "hint": error.hint, "exit_code": int(error.exit_code), "details": list(error.details),
    }
    if isinstance(error, ConfigError):
        document.update(file=error.file, line=error.line, column=error.column, key=error.key, problem=error.problem)
    if isinstance(error, ConfigErrors):  # every problem of goship.yaml, each at its line
        document["errors"] = [
            {"error": each.message, "hint": each.hint, "file": each.file, "line": each.line, "column": each.column,
             "key": each.key, "problem": each.problem}
            for each in error.errors
        ]
    return document


def _wants_json(argv: Sequence[str]) -> bool:
    """--json on the command line (before a '--'), for errors found before or while parsing it."""
    words = list(argv)
    return "--json" in (words[: words.index("--")] if "--" in words else words)


def _fail(error: GoshipError, as_json: bool) -> None:
    from goship.ui import render_error

    render_error(error)
    if as_json:
        print(json.dumps(error_document(error)), flush=True)
    sys.exit(error.exit_code)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line as a namespace; a mistake raises ``UsageError`` (did-you-mean included)."""
    parser = build_parser()
    argv = list(argv)
    # goship exec TARGET [-i] [--role R] -- COMMAND...: what follows "--" is the command as
    # it is, whatever it looks like; the options may come before or after the target.
    tail: list[str] | None = None
    if "exec" in argv and "--" in argv and argv.index("exec") < argv.index("--"):
        cut = argv.index("--")
        argv, tail = argv[:cut], argv[cut + 1:]
    args, extras = parser.parse_known_args(argv)
    if tail is not None and getattr(args, "func", None) is not cmd_exec:
        args, extras = parser.parse_known_args([*argv, "--", *tail])  # "exec" was a value, not the command
    elif tail is not None:
        args.command = [*args.command, *tail]
    if extras:
        raise _unknown_options(parser, args.command, extras)
    config = getattr(args, "config", None)
    if isinstance(config, Path) and not config.is_absolute() and getattr(args, "dir", None) is not None:
        # As git -C and make -C: -c names a file from where -C points.
        args.config = args.dir / config
    return args


_SHELLS = ("bash", "zsh", "fish", "powershell")


def cmd_help(args: argparse.Namespace) -> None:
    """Show the help of a command, or of a topic: exit-codes, environment, json, reference."""
    from goship.commands.reference import markdown, spec

    parser = build_parser()
    topic = args.topic
    commands = spec.command_parsers(parser)
    if topic is None:
        parser.print_help()
    elif topic in commands:
        commands[topic].print_help()
    elif topic == "exit-codes":
        sys.stdout.write(markdown.exit_codes_text())
    elif topic == "environment":
        sys.stdout.write(markdown.environment_text())
    elif topic == "json":
        sys.stdout.write(markdown.json_text(spec.describe(parser)))
    elif topic == "reference":
        sys.stdout.write(markdown.render_reference(spec.describe(parser)))
    else:
        raise UsageError(
            f"goship help: no command or topic {topic!r}{_did_you_mean(topic, [*commands, *HELP_TOPICS])}",
            hint=f"goship help lists the commands; topics: {', '.join(HELP_TOPICS)}",
        )


def cmd_completion(args: argparse.Namespace) -> None:
    """Print a shell completion script for bash, zsh, fish or PowerShell."""
    if args.targets:
        _print_target_names(args)
        return
    if args.shell is None:
        raise UsageError(
            "goship completion: which shell?",
            hint="goship completion bash (or zsh, fish, powershell); 'goship help completion' says how to load it",
        )
    from goship.commands.reference import completion, spec

    sys.stdout.write(completion.render(args.shell, spec.describe(build_parser()), HELP_TOPICS))


def _print_target_names(args: argparse.Namespace) -> None:
    """For the completion scripts: the target names of goship.yaml, one a line; quiet on any error,
    because a Tab press must never print a traceback into the user's command line."""
    try:
        from goship.config import CONFIG_NAME
        from goship.config.loader import load_config
        from goship.project import find_module_root

        path = args.config or find_module_root(args.dir) / CONFIG_NAME
        names = [*load_config(path).targets]
    except Exception:  # noqa: BLE001 - completion offers what it can, and nothing else
        names = []
    for name in dict.fromkeys([LOCAL_TARGET, *names]):
        print(name)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into a message and an exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    as_json = _wants_json(words)
    try:
        args = parse_args(words)
    except GoshipError as error:
        _fail(error, as_json)
    if args.command is None:  # bare 'goship' (maybe with global options): the list of commands
        build_parser().print_help()
        sys.exit(ExitCode.OK)
    as_json = bool(args.json)
    if os.environ.get("GOSHIP_DEBUG"):
        import logging

        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(relativeCreated)7.0f ms %(name)s: %(message)s"))
        logging.getLogger("goship").addHandler(handler)
        logging.getLogger("goship").setLevel(logging.DEBUG)
    try:
        args.func(args)
    except GoshipError as error:
        _fail(error, as_json and not getattr(args, "json_written", False))
    except KeyboardInterrupt:
        interrupted = GoshipError("interrupted")
        interrupted.exit_code = ExitCode.INTERRUPTED
        _fail(interrupted, as_json)
    except BrokenPipeError:
        # The reader went away (goship ... | head): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(ExitCode.BROKEN_PIPE if os.name != "nt" else ExitCode.FAILURE)
    except Exception as bug:  # noqa: BLE001 - the last line of defence
        log = _log_crash()
        say(("internal error:", "red bold"), (f" {type(bug).__name__}: {bug}", None), stderr=True)
        err(f"this is a bug in goship; the traceback is in {log}")
        if as_json:
            print(json.dumps({
                "error": f"internal error: {type(bug).__name__}: {bug}",
                "hint": f"this is a bug in goship; the traceback is in {log}", "exit_code": int(ExitCode.INTERNAL),
                "details": [],
            }))
        sys.exit(ExitCode.INTERNAL)
