"""`berth events NAME`: a service's events, oldest first."""

from __future__ import annotations

from berth_cli.client import Client, service_path
from berth_cli.commands.base import add_command, json_flag
from berth_cli.output import columns, print_json, say, when


def register(subparsers) -> None:
    epilog = "Example:\n  berth events my_service --limit 20"
    p = add_command(subparsers, "events", run, "show a service's events, oldest first", epilog)
    p.add_argument("name")
    p.add_argument("--limit", type=int, default=50, help="how many of the newest events (default 50)")
    p.add_argument("--instance", metavar="NAME", help="only this instance's events")
    json_flag(p)


def run(args, client: Client) -> int:
    body = client.get(service_path(args.name, "events"), limit=args.limit, instance=args.instance)
    if args.json:
        print_json(body)
        return 0
    # The API gives newest first; a terminal reads best with the newest at the bottom.
    rows = [
        [
            when(e.get("time")),
            e.get("type", ""),
            e.get("reason", ""),
            e.get("instance") or "-",
            e.get("actor") or "-",
            e.get("message", ""),
        ]
        for e in reversed(body.get("results", []))
    ]
    say(columns(rows, ["TIME", "TYPE", "REASON", "INSTANCE", "ACTOR", "MESSAGE"]))
    return 0
