"""`berth token NAME [--rotate]`: print a service's access token, or replace it."""

from __future__ import annotations

from berth_cli.client import Client, CliError, service_path
from berth_cli.commands.base import add_command, json_flag
from berth_cli.output import print_json, say

EPILOG = """\
Examples:
  berth token my_service
  berth token my_service --rotate      # the old token stops working at once"""


def register(subparsers) -> None:
    p = add_command(subparsers, "token", run, "print a service's access token, or rotate it", EPILOG)
    p.add_argument("name")
    p.add_argument("--rotate", action="store_true", help="make a new token; the old one stops working at once")
    json_flag(p)


def run(args, client: Client) -> int:
    if args.rotate:
        token = client.post(service_path(args.name, "token"))["token"]
    else:
        token = client.get(service_path(args.name)).get("token")
        if not token:
            raise CliError(f"you may not see the token of {args.name}: viewers never do")
    if args.json:
        print_json({"token": token})
    else:
        say(token)
    return 0
