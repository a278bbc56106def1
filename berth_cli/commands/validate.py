"""`berth validate FILE`: check a config on the server without deploying it."""

from __future__ import annotations

from berth_cli.client import Client, ConfigRejected
from berth_cli.commands.base import add_command, json_flag
from berth_cli.inputs import read_json_object
from berth_cli.output import print_json, print_warnings, say

EPILOG = """\
Example:
  berth validate service.json

Prints each error with the path of the key at fault and exits 1 when the config is invalid."""


def register(subparsers) -> None:
    p = add_command(subparsers, "validate", run, "check a config without deploying it", EPILOG)
    p.add_argument("file", help="the service config (JSON); - reads stdin")
    json_flag(p)


def run(args, client: Client) -> int:
    config = read_json_object(args.file)
    try:
        body = client.post("/services/validate", config)
    except ConfigRejected as exc:
        if args.json:
            print_json({"errors": exc.errors, "warnings": exc.warnings})
            return 1
        raise  # __main__ prints one line per error, with the file's name
    if args.json:
        print_json(body)
        return 0
    print_warnings(body)
    say(f"[OK] {args.file} is a valid service config")
    return 0
