"""`berth delete NAME [-y]`: ask, delete, and wait until the service is gone."""

from __future__ import annotations

import sys

from berth_cli.client import Client, CliError, service_path
from berth_cli.commands.base import add_command, wait_flags
from berth_cli.output import say
from berth_cli.wait import wait_gone


def register(subparsers) -> None:
    epilog = "Examples:\n  berth delete my_service\n  berth delete my_service -y     # without asking"
    p = add_command(subparsers, "delete", run, "delete a service and everything it runs", epilog)
    p.add_argument("name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    wait_flags(p)


def run(args, client: Client) -> int:
    client.get(service_path(args.name))  # a typo fails here, before the question
    if not args.yes:
        sys.stdout.write(f"Are you sure to delete the service [{args.name}]? [Y/n] ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            say("")
            raise CliError("no answer on stdin; pass -y to delete without asking")
        if answer.strip().lower() not in ("", "y", "yes"):
            raise CliError("not deleted")
    status, _ = client.call("DELETE", service_path(args.name))
    say("[OK] Service is terminating")
    if status == 204:
        # Nothing ever ran, so the server deleted it at once.
        say("[OK] Service was deleted successfully")
        return 0
    if args.no_wait:
        return 0
    return wait_gone(client, args.name, timeout=args.timeout)
