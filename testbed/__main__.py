"""``python -m testbed engine|caddy-image|base-images|status|down``: the test-bed from the command line.

Why: ``make demo`` needs a running engine and the offline caddy:2 image before
goship runs, and ``make down`` must be able to clean up whatever a crashed test
session left (engine, registries, SSH hosts and their namespaces) using only
the pids recorded in the state directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import engine, hosts, images, registry, state
from ._proc import TestbedError


def cmd_engine(_args: argparse.Namespace) -> None:
    dockerd = engine.ensure_dockerd(state.state_dir() / "engine")
    print(f"dockerd started, pid {dockerd.pid} (log {dockerd.log})" if dockerd.started else "dockerd already running")


def cmd_caddy_image(args: argparse.Namespace) -> None:
    existed = images.image_exists(args.tag)
    images.seed_caddy_image(args.tag)
    print(f"{args.tag} already present" if existed else f"{args.tag} imported from /usr/bin/caddy")


def cmd_base_images(_args: argparse.Namespace) -> None:
    tags = images.seed_go_images()
    tags.append(images.seed_alpine_image())
    print("seeded (offline stand-ins): " + ", ".join(tags))


def cmd_status(_args: argparse.Namespace) -> None:
    print(json.dumps(state.load(), indent=2, sort_keys=True))


def cmd_down(_args: argparse.Namespace) -> None:
    for name in hosts.stop_all_hosts():
        print(f"stopped host {name}")
    for addr in registry.stop_recorded():
        print(f"stopped registry {addr}")
    hosts.remove_registry_address()
    for pid in engine.stop_recorded():
        print(f"stopped dockerd {pid}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed", description=__doc__.split("\n")[0])
    parser.add_argument("--state-dir",
                        help=f"where pids are recorded (default ${state.ENV_VAR} or {state.DEFAULT_DIR})")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("engine", help="reuse or start dockerd, leave it running").set_defaults(func=cmd_engine)
    caddy = sub.add_parser("caddy-image", help="seed the caddy image into the local engine")
    caddy.add_argument("--tag", default="caddy:2")
    caddy.set_defaults(func=cmd_caddy_image)
    sub.add_parser("base-images", help="seed golang:*/alpine:latest stand-ins for Dockerfile builds").set_defaults(
        func=cmd_base_images)
    sub.add_parser("status", help="print what the state file records").set_defaults(func=cmd_status)
    sub.add_parser("down", help="stop everything recorded, and every gsh* namespace").set_defaults(func=cmd_down)
    args = parser.parse_args(argv)
    if args.state_dir:
        os.environ[state.ENV_VAR] = args.state_dir
    try:
        args.func(args)
    except TestbedError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
