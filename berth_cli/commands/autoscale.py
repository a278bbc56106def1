"""`berth autoscale NAME -Dmin=1 -Dmax=5 -Dstrategies.qps=10`: set, change or remove a service's autoscaler (as eascmd)."""

from __future__ import annotations

from berth_cli.client import ApiNotFound, CliError, Client, service_path
from berth_cli.commands.base import add_command, json_flag
from berth_cli.inputs import parse_define
from berth_cli.output import box, print_json, say

EPILOG = """\
Examples:
  berth autoscale my_service -Dmin=1 -Dmax=10 -Dstrategies.qps=10 -Dstrategies.cpu=90
  berth autoscale my_service -Dbehavior.scaleDown.stabilizationWindowSeconds=60
  berth autoscale my_service            (show the autoscaler)
  berth autoscale my_service --delete

-D keys not given keep their current values. Changing the autoscaler never rolls containers."""


def register(subparsers) -> None:
    p = add_command(subparsers, "autoscale", run, "set, show or remove a service's autoscaler", EPILOG)
    p.add_argument("name")
    p.add_argument("-D", dest="define", action="append", metavar="KEY=VALUE", help="e.g. -Dstrategies.qps=10")
    p.add_argument("--delete", action="store_true", help="remove the autoscaler (the instance count stays)")
    json_flag(p)


def as_config(described: dict) -> dict:
    """The endpoint's API form → the config form the -D keys address."""
    config = {
        "min": described["min"],
        "max": described["max"],
        "strategies": {s["metricName"]: s["threshold"] for s in described.get("scaleStrategies", [])},
    }
    if described.get("behavior"):
        config["behavior"] = described["behavior"]
    return config


def put_define(config: dict, key: str, value: object) -> None:
    """`strategies.gpu[util]` sets strategies["gpu[util]"]; other dots nest (behavior.scaleUp.…)."""
    if key.startswith("strategies."):
        config.setdefault("strategies", {})[key[len("strategies.") :]] = value
        return
    *parents, last = key.split(".")
    target = config
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise CliError(f"-D{key}: {part} is not an object", code=2)
    target[last] = value


def run(args, client: Client) -> int:
    path = service_path(args.name, "autoscaler")
    if args.delete:
        client.call("DELETE", path)
        say(f"[OK] The autoscaler of {args.name} was removed; the instance count stays where it is")
        return 0
    if not args.define:
        return show(client.get(path), args.json)
    try:
        config = as_config(client.get(path))
    except ApiNotFound:
        config = {}
    for item in args.define:
        key, value = parse_define(item)
        put_define(config, key, value)
    described = client.call("PUT", path, body=config)[1]
    say(f"[OK] The autoscaler of {args.name} is set")
    return show(described, args.json)


def show(described: dict, as_json: bool) -> int:
    if as_json:
        print_json(described)
        return 0
    say(box(autoscaler_rows(described), right={0}))
    return 0


def autoscaler_rows(described: dict) -> list[list[str]]:
    """Key/value rows for the autoscaler (also used by `berth desc`)."""
    behavior = described.get("behavior") or {}
    strategies = ", ".join(f"{s['metricName']}={s['threshold']}" for s in described.get("scaleStrategies", []))
    current = ", ".join(f"{m['metricName']}={m['value']}" for m in described.get("currentMetrics") or [])
    rows = [
        ["MinReplica", str(described.get("min"))],
        ["MaxReplica", str(described.get("max"))],
        ["ScaleStrategies", strategies],
        ["ScaleUpWindow", f"{(behavior.get('scaleUp') or {}).get('stabilizationWindowSeconds', '-')}s"],
        ["ScaleDownWindow", f"{(behavior.get('scaleDown') or {}).get('stabilizationWindowSeconds', '-')}s"],
        ["CurrentMetrics", current or "-"],
    ]
    last = described.get("lastDecision")
    if last:
        rows.append(["LastDecision", last["message"]])
    return rows
