"""`berth modify NAME -s FILE -DKEY=VALUE`: merge changes into a service's config and wait for the rollout."""

from __future__ import annotations

from berth_cli.client import Client, CliError, service_path
from berth_cli.commands.base import add_command, wait_flags
from berth_cli.inputs import parse_define, read_json_object
from berth_cli.output import print_warnings, say
from berth_cli.wait import IDLE_STATUSES, RUNNING, wait_for

EPILOG = """\
Examples:
  berth modify my_service -Dmetadata.instance=4
  berth modify my_service -Dcontainers[0].image=registry.example.com/team/app:2
  berth modify my_service -s partial.json

-D values are JSON when they parse (4, true, ["a"]) and strings otherwise; -s merges
a partial config (JSON merge patch: objects merge, arrays are replaced, null deletes).
Changing only metadata.instance scales without a new version."""


def register(subparsers) -> None:
    p = add_command(subparsers, "modify", run, "change a service's config (merge) and wait for the rollout", EPILOG)
    p.add_argument("name")
    p.add_argument("-s", dest="file", metavar="FILE", help="a partial config to merge (JSON)")
    p.add_argument(
        "-D",
        dest="define",
        action="append",
        metavar="KEY=VALUE",
        help="set one key, e.g. -Dmetadata.instance=4 (repeatable)",
    )
    wait_flags(p)


def run(args, client: Client) -> int:
    patch: dict = {}
    if args.file:
        patch.update(read_json_object(args.file))
    for item in args.define or []:
        key, value = parse_define(item)
        patch[key] = value
    if not patch:
        raise CliError("nothing to change: give -s partial.json and/or -DKEY=VALUE", code=2)
    before = client.get(service_path(args.name))
    detail = client.call("PATCH", service_path(args.name), body=patch)[1]
    print_warnings(detail)
    old_id = (before.get("deployment") or {}).get("id")
    new_id = (detail.get("deployment") or {}).get("id")
    if new_id is None or new_id == old_id:
        # Nothing to roll out: no change that touches instances, or nothing runs.
        if detail.get("status") in IDLE_STATUSES:
            say(f"[OK] Service config was updated; the service is {detail['status']}, so it applies at the next start")
        else:
            say("[OK] Service config was updated; nothing to roll out")
        return 0
    if detail.get("new_version"):
        say(f"[OK] Service is now updating to version {detail.get('current_version')}")
    else:
        say(f"[OK] Service is now scaling to {detail.get('instance')} instances")
    if args.no_wait:
        return 0
    return wait_for(client, args.name, detail, want="Running", timeout=args.timeout, done=RUNNING)
