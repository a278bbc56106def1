"""`berth ls`: the services, in eascmd's columns."""

from __future__ import annotations

from berth_cli.client import ApiNotFound, Client, service_path
from berth_cli.commands.base import add_command, json_flag
from berth_cli.output import box, host_names, print_json, say, when


def register(subparsers) -> None:
    epilog = "Examples:\n  berth ls\n  berth ls --status Running --search demo --json"
    p = add_command(subparsers, "ls", run, "list services", epilog, aliases=("list",))
    p.add_argument("--workspace", metavar="SLUG", help="only this workspace")
    p.add_argument("--search", metavar="TEXT", help="only names containing TEXT")
    p.add_argument("--status", metavar="STATUS", help="only this status, e.g. Running")
    json_flag(p)


def list_all(client: Client, **query) -> dict:
    """Every page of GET /services."""
    results: list = []
    count = 0
    while True:
        body = client.get("/services", **query, limit=100, offset=len(results))
        page = body.get("results") or []
        results += page
        count = body.get("count", len(results))
        if not page or len(results) >= count:
            return {"count": count, "results": results}


def run(args, client: Client) -> int:
    body = list_all(client, workspace=args.workspace, search=args.search, status=args.status)
    if args.json:
        print_json(body)
        return 0
    rows = []
    for s in body["results"]:
        if "hosts" in s:
            region = ",".join(s["hosts"]) or "local"
        else:
            # The list shape has no hosts: ask each service (N requests; fine for a console's worth).
            try:
                region = host_names(client.get(service_path(s["name"], "instances")).get("results", []))
            except ApiNotFound:
                region = "-"  # deleted meanwhile
        rows.append(
            [
                s["name"],
                region,
                str(s.get("instance", "")),
                when(s.get("created_at")),
                when(s.get("updated_at")),
                s.get("status", ""),
                "100",
                s.get("service_path", ""),
            ]
        )
    header = ["SERVICENAME", "REGION", "INSTANCE", "CREATETIME", "UPDATETIME", "STATUS", "WEIGHT", "SERVICEPATH"]
    say(box(rows, header, right={2, 6}))
    return 0
