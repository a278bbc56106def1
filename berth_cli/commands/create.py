"""`berth create FILE`: create a service and wait until it runs."""

from __future__ import annotations

from berth_cli.client import Client
from berth_cli.commands.base import add_command, wait_flags
from berth_cli.inputs import read_json_object
from berth_cli.output import endpoint_table, print_warnings, say
from berth_cli.wait import RUNNING, wait_for

EPILOG = """\
Example:
  berth create service.json
  berth create service.json --workspace team-a --timeout 300

Prints the endpoints and token, then a line each time the instance counts change,
and ends with "[OK] Service is running" (exit 0) or the reason it failed with the
last log lines (exit 1)."""


def register(subparsers) -> None:
    p = add_command(subparsers, "create", run, "create a service from a JSON config and wait until it runs", EPILOG)
    p.add_argument("file", help="the service config (JSON); - reads stdin")
    p.add_argument("--workspace", metavar="SLUG", help="workspace to create it in (default: your current one)")
    wait_flags(p)


def run(args, client: Client) -> int:
    config = read_json_object(args.file)
    detail = client.post("/services", config, workspace=args.workspace)
    print_warnings(detail)
    say(endpoint_table(detail))
    say("[OK] Service is now creating")
    if args.no_wait:
        return 0
    return wait_for(client, detail["name"], detail, want="Running", timeout=args.timeout, done=RUNNING)
