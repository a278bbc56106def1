"""Services on a Docker Swarm cluster: one Swarm service per Berth version, scaled by Berth.

Berth keeps EAS's rollout semantics by scaling versions (the new one up within `max_surge`, the old
ones down as new tasks become ready, never below `desired - max_unavailable` ready); Swarm places,
restarts and reschedules tasks. Each task is one Instance row (ordinal = the task's slot, `host` = the
cluster's row, `node` / `node_address` / `host_port` where its host-mode port is reached), so the prober
and the gateway treat it like any other instance.

The caller of `cluster_converge` holds the service's lock (see converge.service_converge).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deployments import wakeups
from deployments.choices import DeploymentStatus, InstanceStatus, ServiceStatus
from deployments.engine import rollout
from deployments.engine.containers import instance_containers, instance_name, main_container
from deployments.engine.status import ZERO_INSTANCE_STATES, _deployment_finish, service_refresh_status
from deployments.engine.versions import grace_period, version_config
from deployments.events import event_record
from deployments.models import Deployment, DockerHost, Instance, Service, ServiceVersion, Workspace
from deployments.registries import registry_auth_for
from deployments.runtime import (
    LABEL_INSTALLATION,
    LABEL_INSTANCE,
    LABEL_SERVICE,
    LABEL_VERSION,
    RuntimeFailure,
    TaskState,
    VersionSpec,
)

log = logging.getLogger(__name__)

SWARM = "swarm"
# Failed tasks of one slot after which a never-ready version counts as failed (Swarm retries for ever).
CRASH_LIMIT = 3
_FAILED_TASK_STATES = {"failed", "rejected", "orphaned"}


def pool_of(*, workspace: Workspace, config: dict) -> DockerHost | None:
    """The pool a config runs in: `metadata.resource` (a host or cluster name), else the workspace's
    default pool, else None (any single host, as Berth places them)."""
    name = (config.get("metadata") or {}).get("resource")
    if name:
        return DockerHost.objects.filter(name=name).first()
    if workspace.default_pool_id:
        return DockerHost.objects.filter(pk=workspace.default_pool_id).first()
    return None


def service_cluster(service: Service) -> DockerHost | None:
    """The Swarm cluster the service's current version runs on, or None when it runs on single hosts.

    A service that has rows on a cluster stays there while they exist (they must be scaled away there)."""
    config = version_config(service.current_version) if service.current_version_id else {}
    pool = pool_of(workspace=service.workspace, config=config) if config else None
    if pool is not None and pool.kind == SWARM:
        return pool
    row = Instance.objects.filter(service=service, host__kind=SWARM).select_related("host").first()
    return row.host if row else None


def cluster_refusals(config: dict) -> list[dict]:
    """What a config asks that a cluster cannot do, as validation errors with the reason and the way out."""
    problems = []
    if len(config.get("containers") or []) > 1:
        problems.append(
            {
                "path": "containers",
                "message": "a Swarm cluster runs one container per instance (a task cannot share a network "
                "namespace with another): merge the containers into one image, or run the service on a single host",
            }
        )
    for index, item in enumerate(config.get("storage") or []):
        if "host_path" in (item.get("berth") or {}):
            problems.append(
                {
                    "path": f"storage[{index}].berth.host_path",
                    "message": "a host path names a directory on one machine, but Swarm may place a task on any "
                    "node: use an nfs mount (or an image / oss / git mount) instead, or a single-host pool",
                }
            )
    return problems


def version_service_name(service: Service, version: ServiceVersion) -> str:
    # Swarm names allow letters, digits and dashes; the installation keeps two Berths on one cluster apart.
    return f"berth-{settings.BERTH_INSTALLATION}-{service.name}-v{version.number}".replace("_", "-")[:63]


def _labels(service: Service) -> dict[str, str]:
    return {LABEL_INSTALLATION: settings.BERTH_INSTALLATION, LABEL_SERVICE: service.name}


def version_spec(service: Service, version: ServiceVersion) -> VersionSpec:
    """The Swarm service of one version: the main container of the config, as on a single host."""
    config = version_config(version)
    container = instance_containers(
        config=config, service_name=service.name, workspace=service.workspace.slug, version=version.number,
        ordinal=0, bind_address="",
    )[0]  # fmt: skip
    labels = {k: v for k, v in container.labels.items() if k != LABEL_INSTANCE}
    image = version.image_ids.get(container.image) or container.image  # a rollback re-applies the digest
    return VersionSpec(
        name=version_service_name(service, version),
        image=image,
        labels=labels,
        env=container.env,
        entrypoint=container.entrypoint,
        command=container.command,
        port=container.port,
        cpu=container.cpu,
        memory_mb=container.memory_mb,
        # EAS resources are guaranteed: Swarm keeps them free on the node it places the task on.
        cpu_reservation=container.cpu,
        memory_reservation_mb=container.memory_mb,
        auth=registry_auth_for(service=service, config=config, image=container.image),
        restart_delay_seconds=float(settings.BERTH_RESTART_BACKOFF),
        stop_grace_seconds=grace_period(version),
    )


# --- Instance rows from tasks ---------------------------------------------------------------------------


def _newest(tasks: list[TaskState]) -> TaskState:
    return max(tasks, key=lambda t: t.created_at)


def _row_fields(task: TaskState, nodes: dict[str, str], failed: int) -> dict:
    running = task.state == "running" and task.host_port is not None
    if running:
        status = InstanceStatus.RUNNING
    elif task.state in _FAILED_TASK_STATES:
        status = InstanceStatus.FAILED
    else:
        status = InstanceStatus.CREATING
    return {
        "container_id": task.id,
        "node": nodes.get(task.node_id, task.node_id),
        "node_address": task.node_address,
        "host_port": task.host_port if running else None,
        "status": status,
        "reason": "Running" if running else f"Task{task.state.title()}",
        "message": task.error or ("" if running else task.message),
        "restarts": failed,
    }


def sync_instances(*, service: Service, host: DockerHost, tasks: list[TaskState], nodes: dict[str, str]) -> None:
    """Make the service's Instance rows on `host` match its tasks: one row per (version, slot), following the
    task Swarm wants running there; a replaced task is recorded as an event naming both nodes and the reason."""
    versions = {v.number: v for v in ServiceVersion.objects.filter(service=service)}
    slots: dict[tuple[int, int], list[TaskState]] = {}
    for task in tasks:
        number = int(task.labels.get(LABEL_VERSION) or -1)
        if number in versions and task.slot is not None:
            slots.setdefault((number, task.slot), []).append(task)
    rows = {
        (i.version.number, i.ordinal): i
        for i in Instance.objects.filter(service=service, host=host).select_related("version")
    }
    now = timezone.now()
    for (number, slot), group in slots.items():
        current = [t for t in group if t.desired_state == "running"]
        task = _newest(current or group)
        if not current and task.desired_state == "remove":
            continue  # the slot is being scaled away: its row goes below
        if not current and task.state not in _FAILED_TASK_STATES:
            # Swarm is moving the slot (drain, node down, update): out of traffic until the new task runs;
            # the row keeps the old task's id, so the move is reported once the replacement shows up.
            if (number, slot) in rows:
                row = rows.pop((number, slot))
                if row.status != InstanceStatus.CREATING or row.ready:
                    Instance.objects.filter(pk=row.pk).update(
                        status=InstanceStatus.CREATING, ready=False, host_port=None, reason="Rescheduling"
                    )
                    wakeups.wake("gateway")
            continue
        version = versions[number]
        failed = sum(1 for t in group if t.state in _FAILED_TASK_STATES)
        fields = _row_fields(task, nodes, failed)
        unstarted = bool(main_container(version_config(version)).get("startup_check"))
        row = rows.pop((number, slot), None)
        name = instance_name(service.name, number, slot)
        if row is None:
            metadata = version_config(version).get("metadata") or {}
            Instance.objects.create(
                service=service, version=version, host=host, ordinal=slot, name=name,
                cpu=float(metadata.get("cpu") or 0), memory_mb=int(metadata.get("memory") or 0),
                started=not unstarted, started_at=now if fields["status"] == InstanceStatus.RUNNING else None, **fields,
            )  # fmt: skip
            event_record(
                service=service, reason="Scheduled", message=f"{name} placed on node {fields['node']}", instance=name
            )
            continue
        if row.container_id != task.id:
            before = next((t for t in group if t.id == row.container_id), None)
            why = f"{before.state}: {before.error or before.message}" if before else "gone"
            event_record(
                service=service, reason="Rescheduled", warning=True, instance=name,
                message=f"{name}: task on node {row.node or '?'} {why}; replaced on node {fields['node']}",
            )  # fmt: skip
            fields.update(ready=False, started=not unstarted, started_at=None)
        if fields["status"] == InstanceStatus.RUNNING and (
            row.status != InstanceStatus.RUNNING or "started_at" in fields
        ):
            fields["started_at"] = now
        if fields["status"] != InstanceStatus.RUNNING:
            fields["ready"] = False
        if any(getattr(row, key) != value for key, value in fields.items()):
            if fields["status"] == InstanceStatus.FAILED and row.status != InstanceStatus.FAILED:
                event_record(
                    service=service, reason="TaskFailed", warning=True, instance=name,
                    message=f"{name}: task failed on node {fields['node']}: {fields['message']}",
                )  # fmt: skip
            Instance.objects.filter(pk=row.pk).update(**fields)
    gone = [row.pk for row in rows.values()]
    if gone:
        Instance.objects.filter(pk__in=gone).delete()
        wakeups.wake("gateway")


# --- convergence ------------------------------------------------------------------------------------------


def _failure(new: list[Instance], runtime, tasks: list[TaskState], auth) -> str:
    """Why the new version cannot run (its tasks cannot pull, keep failing or never become ready), or ""."""
    by_id = {t.id: t for t in tasks}
    for row in new:
        task = by_id.get(row.container_id)
        if task is not None and task.state in _FAILED_TASK_STATES:
            error = runtime.task_error(task, auth=auth)
            if error is not None and error.reason in ("RegistryAuthFailed", "ImageNotFound"):
                return str(error)
        if not row.ready and row.restarts >= CRASH_LIMIT:
            return f"{row.name} failed {row.restarts} times on the cluster: {row.message or row.reason}"
    deadline = timezone.now() - timedelta(seconds=settings.BERTH_ROLLOUT_TIMEOUT)
    if any(not row.ready and row.created_at < deadline for row in new):
        return f"no instance became ready within {settings.BERTH_ROLLOUT_TIMEOUT}s: check the port and the health check"
    return ""


def _version_drop(runtime, service: Service, state, version_id: int | None) -> None:
    """Out of traffic first, then the Swarm service goes (Swarm stops its tasks with their grace period)."""
    rows = Instance.objects.filter(service=service, version_id=version_id)
    rows.update(status=InstanceStatus.TERMINATING, ready=False)
    wakeups.wake("gateway")
    runtime.version_remove(state.name)
    rows.delete()


def cluster_converge(*, service: Service, host: DockerHost, runtime) -> None:
    """One convergence step of a service on a cluster (the caller holds the service's lock)."""
    target = service.current_version
    desired = 0 if service.status in ZERO_INSTANCE_STATES or target is None else service.instance
    labels = _labels(service)
    tasks = runtime.tasks(labels)
    nodes = {n.id: n.hostname for n in runtime.nodes()} if tasks else {}
    sync_instances(service=service, host=host, tasks=tasks, nodes=nodes)
    states = {int(v.labels.get(LABEL_VERSION) or -1): v for v in runtime.versions(labels)}
    numbers = dict(ServiceVersion.objects.filter(service=service).values_list("number", "id"))
    if desired == 0:
        for number, state in states.items():
            _version_drop(runtime, service, state, numbers.get(number))
        Instance.objects.filter(service=service).delete()
        _finish_zero(service)
        return
    config = version_config(target)
    old = {number: state for number, state in states.items() if number != target.number}
    new = list(Instance.objects.filter(service=service, version=target))
    auth = registry_auth_for(service=service, config=config, image=main_container(config).get("image", ""))

    if old and not target.failed:
        reason = _failure(new, runtime, tasks, auth)
        if reason:
            ServiceVersion.objects.filter(pk=target.pk).update(failed=True)
            target.failed = True
            event_record(
                service=service,
                reason="RolloutFailed",
                warning=True,
                message=f"version {target.number} failed: {reason}",
            )
            _deployment_finish(service, ok=False, message=reason)
    if old and target.failed:
        if target.number in states:
            _version_drop(runtime, service, states[target.number], target.pk)
        keep = ServiceVersion.objects.get(service=service, number=max(old))
        Service.objects.filter(pk=service.pk).update(current_version=keep, status=ServiceStatus.RUNNING)
        service_refresh_status(service_id=service.pk)
        return
    deploying = Deployment.objects.filter(service=service, status=DeploymentStatus.RUNNING).exists()
    if not old and deploying and not any(r.ready for r in new):
        reason = _failure(new, runtime, tasks, auth)
        if reason:
            _service_fail(service, runtime, states.get(target.number), reason)
            return

    limits = rollout.rolling_limits(config, desired)
    new_ready = sum(1 for r in new if r.ready)
    old_keep = min(sum(s.replicas for s in old.values()), max(0, desired - limits.unavailable - new_ready))
    wanted = min(desired, max(0, desired + limits.surge - old_keep))
    try:
        state = runtime.version_ensure(version_spec(service, target), wanted)
    except RuntimeFailure as exc:
        if old:
            ServiceVersion.objects.filter(pk=target.pk).update(failed=True)
            event_record(
                service=service, reason="RolloutFailed", warning=True, message=f"version {target.number} failed: {exc}"
            )
            _deployment_finish(service, ok=False, message=str(exc))
        else:
            _service_fail(service, runtime, None, str(exc))
        return
    image = main_container(config).get("image", "")
    if image and not target.image_ids.get(image):
        # The digest the cluster runs is the one a rollback re-applies.
        ServiceVersion.objects.filter(pk=target.pk).update(image_ids={**target.image_ids, image: state.image})
    for number in sorted(old):  # the oldest versions give way first
        state, here = old[number], min(old[number].replicas, old_keep)
        old_keep -= here
        if here == 0:
            _version_drop(runtime, service, state, numbers.get(number))
        elif here < state.replicas:
            runtime.version_scale(state.name, here)
    service_refresh_status(service_id=service.pk)


def _service_fail(service: Service, runtime, state, reason: str) -> None:
    """A create whose tasks cannot run: the service fails and its version's Swarm service goes."""
    if state is not None:
        _version_drop(runtime, service, state, service.current_version_id)
    with transaction.atomic():
        Service.objects.filter(pk=service.pk).update(status=ServiceStatus.FAILED, message=reason)
        event_record(service=service, reason="Failed", message=reason, warning=True)
        _deployment_finish(service, ok=False, message=reason)


def _finish_zero(service: Service) -> None:
    if service.status == ServiceStatus.DELETING:
        _deployment_finish(service, ok=True)
        service.delete()
        return
    with transaction.atomic():
        stopped = Service.objects.filter(pk=service.pk, status=ServiceStatus.STOPPING).update(
            status=ServiceStatus.STOPPED, message=""
        )
        if stopped:
            event_record(service=service, reason="Stopped", message="all instances stopped")
        _deployment_finish(service, ok=True)


def cluster_reconcile(*, host: DockerHost, converge) -> int:
    """Sync every service with rows on the cluster (new, rescheduled or failed tasks) through `converge`
    (converge.service_converge, which takes the service's lock). Returns how many were converged."""
    count = 0
    for service_id in set(Instance.objects.filter(host=host).values_list("service_id", flat=True)):
        try:
            count += bool(converge(service_id=service_id))
        except Exception:
            log.exception("reconcile: service %s on cluster %s failed", service_id, host.name)
    return count
