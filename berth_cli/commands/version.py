"""`berth version NAME [N]`: list a service's versions, or roll back to version N and wait."""

from __future__ import annotations

from berth_cli.client import Client, service_path
from berth_cli.commands.base import add_command, json_flag, wait_flags
from berth_cli.output import box, print_json, say, when
from berth_cli.wait import IDLE_STATUSES, RUNNING, wait_for

EPILOG = """\
Examples:
  berth version my_service         # list the versions
  berth version my_service 2       # roll back to version 2 and wait until it runs"""


def register(subparsers) -> None:
    p = add_command(subparsers, "version", run, "list versions, or roll back to version N", EPILOG)
    p.add_argument("name")
    p.add_argument("number", type=int, nargs="?", help="the version to roll back to; without it, list versions")
    wait_flags(p)
    json_flag(p)


def run(args, client: Client) -> int:
    if args.number is None:
        return list_versions(args, client)
    detail = client.post(service_path(args.name, "versions", str(args.number), "rollback"))
    if detail.get("status") in IDLE_STATUSES:
        status = detail["status"]
        say(f"[OK] Version {args.number} is now current; the service is {status}, so it runs at the next start")
        return 0
    say(f"[OK] Service is rolling back to version {args.number}")
    if args.no_wait:
        return 0
    return wait_for(client, args.name, detail, want="Running", timeout=args.timeout, done=RUNNING)


def list_versions(args, client: Client) -> int:
    body = client.get(service_path(args.name, "versions"))
    if args.json:
        print_json(body)
        return 0
    rows = []
    for v in body.get("results", []):
        images = ",".join(c.get("image", "") for c in (v.get("config") or {}).get("containers") or [])
        rows.append(
            [
                str(v["number"]),
                "*" if v.get("current") else "",
                when(v.get("created_at")),
                v.get("created_by") or "",
                images,
            ]
        )
    say(box(rows, ["VERSION", "CURRENT", "CREATETIME", "CREATEDBY", "IMAGE"], right={0}))
    return 0
