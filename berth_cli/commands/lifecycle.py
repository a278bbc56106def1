"""`berth stop|start|restart NAME`: one POST each, then wait for Stopped or Running."""

from __future__ import annotations

from berth_cli.client import Client, service_path
from berth_cli.commands.base import add_command, wait_flags
from berth_cli.output import say
from berth_cli.wait import RUNNING, wait_for

# name: (summary, epilog, the -ing form for "[OK] Service is …")
COMMANDS = {
    "stop": (
        "stop every instance (config, versions and token are kept)",
        "Example:\n  berth stop my_service",
        "stopping",
    ),
    "start": ("start a stopped or failed service", "Example:\n  berth start my_service", "starting"),
    "restart": (
        "restart every instance, one at a time",
        "Example:\n  berth restart my_service --no-wait",
        "restarting",
    ),
}


def register(subparsers) -> None:
    for name, (summary, epilog, _) in COMMANDS.items():
        p = add_command(subparsers, name, run, summary, epilog)
        p.add_argument("name")
        wait_flags(p)


def run(args, client: Client) -> int:
    detail = client.post(service_path(args.name, args.command))
    say(f"[OK] Service is {COMMANDS[args.command][2]}")
    if args.no_wait:
        return 0
    if args.command == "stop":
        return wait_for(client, args.name, detail, want="Stopped", timeout=args.timeout, done="[OK] Service is stopped")
    return wait_for(client, args.name, detail, want="Running", timeout=args.timeout, done=RUNNING)
