"""`berth desc NAME`: eascmd's key/value description of a service, then its full config."""

from __future__ import annotations

import json

from berth_cli.client import Client, service_path
from berth_cli.commands.autoscale import autoscaler_rows
from berth_cli.commands.base import add_command, json_flag
from berth_cli.output import box, host_names, print_json, say, when, wrap


def register(subparsers) -> None:
    epilog = "Example:\n  berth desc my_service\n  berth desc my_service --json"
    p = add_command(subparsers, "desc", run, "describe a service", epilog, aliases=("describe",))
    p.add_argument("name")
    json_flag(p)


def run(args, client: Client) -> int:
    detail = client.get(service_path(args.name))
    if args.json:
        print_json(detail)
        return 0
    instances = client.get(service_path(args.name, "instances")).get("results", [])
    config = detail.get("config") or {}
    metadata = config.get("metadata") or {}
    counts = detail.get("counts") or {}
    endpoints = detail.get("endpoints") or {}
    deployment = detail.get("deployment") or {}
    memory = metadata.get("memory")
    rows = [
        ["Status", detail.get("status", "")],
        ["ServiceName", detail.get("name", "")],
        ["Workspace", detail.get("workspace", "")],
        ["Region", host_names(instances)],
        ["CreateTime", when(detail.get("created_at"))],
        ["UpdateTime", when(detail.get("updated_at"))],
    ]
    if detail.get("token"):
        rows.append(["AccessToken", detail["token"]])
    rows += [
        ["TotalInstance", counts.get("total", 0)],
        ["RunningInstance", counts.get("running", 0)],
        ["PendingInstance", counts.get("pending", 0)],
        ["CPU", metadata.get("cpu", "-")],
        ["GPU", metadata.get("gpu", 0)],
        ["Memory", f"{memory}M" if memory is not None else "-"],
        ["Image", ",".join(c.get("image", "") for c in config.get("containers") or [])],
        ["Weight", 100],
        ["LatestVersion", detail.get("latest_version") or ""],
        ["CurrentVersion", detail.get("current_version") or ""],
        ["Message", detail.get("message") or ""],
    ]
    if deployment:
        state = f"{deployment.get('kind')} {deployment.get('status')}"
        if deployment.get("status") == "running" and deployment.get("phase"):
            state += f" ({deployment['phase']})"
        rows.append(["LastDeployment", state])
        if deployment.get("message") and deployment["message"] != detail.get("message"):
            rows.append(["DeploymentMessage", deployment["message"]])
    if config.get("autoscaler"):
        described = client.get(service_path(args.name, "autoscaler"))
        rows += [[f"Autoscaler.{key}", value] for key, value in autoscaler_rows(described)]
    rows += [
        ["InternetEndpoint", endpoints.get("internet", "")],
        ["IntranetEndpoint", endpoints.get("intranet", "")],
        *([["GrpcEndpoint", endpoints["grpc"]]] if endpoints.get("grpc") else []),
        ["ServicePath", detail.get("service_path", "")],
        ["ServiceConfig", json.dumps(config, indent=2, ensure_ascii=False)],
    ]
    # Long messages (they carry log lines) wrap, so the table stays readable in a terminal.
    cells = [[k, v if k == "ServiceConfig" else wrap(str(v))] for k, v in rows]
    say(box(cells, right={0}))
    return 0
