"""Workspace quotas: at most so many instances, CPU cores and MB of memory, all services together.

Administrators set them (Django admin, `PATCH /api/v1/workspaces/<slug>`); null is unlimited.
Every action that makes a workspace run more (create, modify, scale, start) calls
`check_quota` inside its transaction, after locking the workspace row, so the API, the
console and the CLI all meet the same rule and two concurrent creates cannot both slip in.

Usage counts the desired instances of every service that runs or is on its way to run
(drafts, stopped services and those being stopped or deleted count nothing), each instance
with the `metadata.cpu` and `metadata.memory` of its service's current version.
"""

from dataclasses import dataclass

from django.db import transaction

from deployments.choices import ServiceStatus
from deployments.errors import ConfigInvalid, Conflict, Forbidden
from deployments.models import Service, Workspace

# Services in these states hold no instances and will not start any by themselves.
IDLE_STATES = (ServiceStatus.NOT_DEPLOYED, ServiceStatus.STOPPED, ServiceStatus.STOPPING, ServiceStatus.DELETING)


class QuotaExceeded(Conflict):
    """A change would take the workspace past one of its quotas (HTTP 409); the sentence names the
    quota, the usage and the request."""

    def __init__(self, message: str, *, quota: str):
        self.quota = quota
        super().__init__(message)


@dataclass(frozen=True)
class Footprint:
    """What some instances hold: their number, CPU cores and MB of memory."""

    instances: int = 0
    cpu: float = 0.0
    memory_mb: int = 0

    def __add__(self, other: "Footprint") -> "Footprint":
        return Footprint(self.instances + other.instances, self.cpu + other.cpu, self.memory_mb + other.memory_mb)

    def __sub__(self, other: "Footprint") -> "Footprint":
        return Footprint(self.instances - other.instances, self.cpu - other.cpu, self.memory_mb - other.memory_mb)


def config_footprint(config: dict, *, instances: int | None = None) -> Footprint:
    """A (canonical) config's footprint at `instances` (default: its `metadata.instance`)."""
    metadata = config.get("metadata") or {}
    count = int(metadata.get("instance") or 0) if instances is None else instances
    return Footprint(count, count * float(metadata.get("cpu") or 0), count * int(metadata.get("memory") or 0))


def service_footprint(service: Service) -> Footprint:
    """What the service holds against its workspace's quotas now (nothing when idle)."""
    if service.status in IDLE_STATES or service.current_version is None:
        return Footprint()
    return config_footprint(service.current_version.config, instances=service.instance)


def workspace_usage(*, workspace: Workspace) -> Footprint:
    """The sum of every service's footprint in the workspace."""
    total = Footprint()
    for service in (
        Service.objects.filter(workspace=workspace).exclude(status__in=IDLE_STATES).select_related("current_version")
    ):
        total = total + service_footprint(service)
    return total


def _number(value: float) -> str:
    return f"{value:g}"


def check_quota(*, workspace: Workspace, adding: Footprint) -> None:
    """Raise QuotaExceeded when the workspace's usage plus `adding` passes a quota. Only dimensions
    that grow are checked: shrinking is always allowed, even above a quota lowered since."""
    limits = Workspace.objects.filter(pk=workspace.pk).values("max_instances", "max_cpu", "max_memory_mb").get()
    if not any(v is not None for v in limits.values()):
        return
    usage = workspace_usage(workspace=workspace)
    name = workspace.slug
    if limits["max_instances"] is not None and adding.instances > 0:
        if usage.instances + adding.instances > limits["max_instances"]:
            raise QuotaExceeded(
                f"workspace {name} may run {limits['max_instances']} instances; it runs {usage.instances} "
                f"and this asks for {adding.instances} more",
                quota="instances",
            )
    if limits["max_cpu"] is not None and adding.cpu > 1e-9:
        if usage.cpu + adding.cpu > limits["max_cpu"] + 1e-9:
            raise QuotaExceeded(
                f"workspace {name} may use {_number(limits['max_cpu'])} CPU cores; it uses {_number(usage.cpu)} "
                f"and this asks for {_number(adding.cpu)} more",
                quota="cpu",
            )
    if limits["max_memory_mb"] is not None and adding.memory_mb > 0:
        if usage.memory_mb + adding.memory_mb > limits["max_memory_mb"]:
            raise QuotaExceeded(
                f"workspace {name} may use {limits['max_memory_mb']} MB of memory; it uses {usage.memory_mb} MB "
                f"and this asks for {adding.memory_mb} MB more",
                quota="memory",
            )


def workspace_lock(workspace: Workspace) -> None:
    """Lock the workspace row until the transaction ends, so quota checks of concurrent changes run
    one after another (a no-op on SQLite, whose writers are serialised anyway)."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()


def check_quota_for_config(*, workspace: Workspace, config: dict, service: Service | None = None) -> None:
    """Check a create (no `service`) or a modify or scale (`config`: the service's new canonical
    config) against the quotas. Locks the workspace row: call inside the action's transaction."""
    workspace_lock(workspace)
    if service is None:
        adding = config_footprint(config)
    elif service.status in IDLE_STATES:
        return  # a stopped service or a draft changes nothing that runs; its start is checked
    else:
        adding = config_footprint(config) - service_footprint(service)
    check_quota(workspace=workspace, adding=adding)


def check_quota_for_start(*, service: Service) -> None:
    """Check starting a stopped service or deploying a draft (a failed one holds its share already)."""
    workspace_lock(service.workspace)
    if service.status in IDLE_STATES and service.current_version is not None:
        adding = config_footprint(service.current_version.config, instances=service.instance)
        check_quota(workspace=service.workspace, adding=adding)


QUOTA_FIELDS = {"max_instances": int, "max_cpu": float, "max_memory_mb": int}


def quota_body(workspace: Workspace) -> dict:
    """The workspace's quotas and usage, as the API shows them (null limits are unlimited)."""
    usage = workspace_usage(workspace=workspace)
    return {
        "quotas": {field: getattr(workspace, field) for field in QUOTA_FIELDS},
        "usage": {"instances": usage.instances, "cpu": usage.cpu, "memory_mb": usage.memory_mb},
    }


@transaction.atomic
def workspace_quota_set(*, actor, workspace: Workspace, changes: dict) -> Workspace:
    """Set some of the workspace's quotas (administrators only); null clears one. Running services
    are not touched: a lowered quota only refuses further growth."""
    if actor is None or not actor.is_staff:
        raise Forbidden("only administrators set workspace quotas")
    errors, updates = [], {}
    for field, value in changes.items():
        kind = QUOTA_FIELDS.get(field)
        if kind is None:
            errors.append({"path": field, "message": f"unknown quota; the quotas are {', '.join(QUOTA_FIELDS)}"})
        elif value is None:
            updates[field] = None
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            errors.append({"path": field, "message": "must be a number, 0 or more (null: unlimited)"})
        elif kind is int and value != int(value):
            errors.append({"path": field, "message": "must be a whole number"})
        else:
            updates[field] = kind(value)
    if errors:
        raise ConfigInvalid(errors)
    Workspace.objects.filter(pk=workspace.pk).update(**updates)
    workspace.refresh_from_db()
    return workspace
