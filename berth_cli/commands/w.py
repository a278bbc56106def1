"""`berth w NAME` (eascmd showworkers): a service's instances."""

from __future__ import annotations

from berth_cli.client import Client, service_path
from berth_cli.commands.base import add_command, json_flag
from berth_cli.output import box, compact, print_json, say, when


def register(subparsers) -> None:
    summary = "list a service's instances (eascmd showworkers)"
    p = add_command(subparsers, "w", run, summary, "Example:\n  berth w my_service", aliases=("showworkers",))
    p.add_argument("name")
    json_flag(p)


def run(args, client: Client) -> int:
    body = client.get(service_path(args.name, "instances"))
    if args.json:
        print_json(body)
        return 0
    rows = []
    for i in body.get("results", []):
        if i.get("port"):  # where the gateway dials it: the container address, or the published port
            inner = f"{i.get('address') or ''}:{i['port']}"
        else:
            inner = f"{i.get('host_ip') or ''}:{i['host_port']}" if i.get("host_port") else (i.get("host_ip") or "")
        rows.append(
            [
                i["name"],
                inner,
                i.get("host_ip") or "",
                when(i.get("started_at")),
                str(i.get("restarts", 0)),
                i.get("status", ""),
                f"[{1 if i.get('ready') else 0}/1]",
                i.get("reason") or "",
                compact(i.get("last_state") or {}),
            ]
        )
    header = ["INSTANCENAME", "INNERIP", "HOSTIP", "STARTAT", "RESTARTS", "STATUS", "READY", "REASON", "LASTSTATE"]
    say(box(rows, header, right={4}))
    return 0
