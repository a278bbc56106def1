"""`berth cronscale NAME -s cronscale.json`: set, show or remove a service's scheduled scaling (as eascmd)."""

from __future__ import annotations

from berth_cli.client import Client, service_path
from berth_cli.commands.base import add_command, json_flag
from berth_cli.inputs import read_json_object
from berth_cli.output import box, print_json, say

EPILOG = """\
Examples:
  berth cronscale my_service -s cronscale.json
  berth cronscale my_service            (show the jobs and their last runs)
  berth cronscale my_service --delete

cronscale.json:
  {"ScaleJobs": [{"Name": "morning", "Schedule": "0 0 8 * * *", "TargetSize": 4, "TimeZone": "Asia/Shanghai"},
                 {"Name": "evening", "Schedule": "0 0 20 * * *", "TargetSize": 1}],
   "ExcludeDates": ["* * * * * 6,0"]}
Schedules have 6 fields with a leading seconds field."""


def register(subparsers) -> None:
    p = add_command(subparsers, "cronscale", run, "set, show or remove a service's scheduled scaling", EPILOG)
    p.add_argument("name")
    p.add_argument("-s", dest="file", metavar="FILE", help="the cronscaler (JSON)")
    p.add_argument("--delete", action="store_true", help="remove the cron scaler (the instance count stays)")
    json_flag(p)


def run(args, client: Client) -> int:
    path = service_path(args.name, "cronscaler")
    if args.delete:
        client.call("DELETE", path)
        say(f"[OK] The cron scaler of {args.name} was removed; the instance count stays where it is")
        return 0
    if args.file:
        described = client.call("PUT", path, body=read_json_object(args.file))[1]
        say(f"[OK] The cron scaler of {args.name} is set")
    else:
        described = client.get(path)
    if args.json:
        print_json(described)
        return 0
    rows = [
        [j["Name"], j["Schedule"], str(j["TargetSize"]), j.get("TimeZone") or "UTC",
         j.get("LastProbeTime") or "-", j.get("State") or "-", j.get("Message") or ""]
        for j in described.get("ScaleJobs", [])
    ]  # fmt: skip
    say(box(rows, ["NAME", "SCHEDULE", "TARGETSIZE", "TIMEZONE", "LASTRUN", "STATE", "MESSAGE"]))
    if described.get("ExcludeDates"):
        say(f"ExcludeDates: {', '.join(described['ExcludeDates'])}")
    if described.get("NextRun"):
        say(f"NextRun: {described['NextRun']['Name']} at {described['NextRun']['At']}")
    return 0
