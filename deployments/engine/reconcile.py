"""Reconcile: compare desired (DB) with actual (container labels) on every host, heal the difference.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from deployments.choices import (
    HostStatus,
    InstanceStatus,
    ServiceStatus,
)
from deployments.engine.cluster import cluster_reconcile
from deployments.engine.converge import service_converge
from deployments.engine.failures import service_failure_record
from deployments.engine.hosts import host_refresh, host_runtime
from deployments.engine.status import ZERO_INSTANCE_STATES
from deployments.events import event_record
from deployments.models import DockerHost, Instance, Service
from deployments.runtime import LABEL_INSTALLATION, LABEL_INSTANCE, LABEL_ROLE, LABEL_SERVICE, RuntimeFailure

log = logging.getLogger(__name__)


def reconcile_pass(*, teardown: Callable[[int], None] | None = None) -> dict:
    """Compare desired (DB) with actual (Docker labels) on every host: one list call per host.

    Restarts exited instances with back-off (recording exit code, OOMKilled and the last
    50 log lines), recreates missing ones, removes orphans. Returns counts for logging.
    With `teardown`, services that are stopping or being deleted are handed to it (their
    convergence waits out grace periods) instead of being converged inline.
    """
    stats = {"hosts": 0, "restarted": 0, "orphans": 0, "converged": 0, "errors": 0}
    for host in DockerHost.objects.exclude(status=HostStatus.DRAINING):
        # One host's failure (a malformed answer, a bug on a rare path) must not leave the others unhealed.
        try:
            if host.kind == "swarm":
                if host_refresh(host=host).status != HostStatus.UNREACHABLE:
                    stats["converged"] += cluster_reconcile(host=host, converge=service_converge)
                continue
            _reconcile_host(host, stats)
        except Exception:
            log.exception("reconcile: host %s failed; going on with the others", host.name)
            stats["errors"] += 1
    for service_id, status in services_needing_convergence(with_status=True):
        if teardown is not None and status in ZERO_INSTANCE_STATES:
            teardown(service_id)
            continue
        # Nor may one service's: it gets a Warning event, the others their convergence.
        try:
            if service_converge(service_id=service_id):
                stats["converged"] += 1
        except Exception as exc:
            service_failure_record(service_id=service_id, exc=exc)
            stats["errors"] += 1
    return stats


def _reconcile_host(host: DockerHost, stats: dict) -> None:
    """Restart crashed instances, remove orphans and forget vanished instances on one host."""
    host = host_refresh(host=host)
    if host.status == HostStatus.UNREACHABLE:
        return
    stats["hosts"] += 1
    runtime = host_runtime(host)
    listed_at = timezone.now()
    try:
        states = runtime.list({LABEL_INSTALLATION: settings.BERTH_INSTALLATION})
    except RuntimeFailure:
        return
    # Read the DB after listing: a deploy step commits an Instance row before it creates the
    # container, so every container listed above whose row is missing here is a real orphan.
    known = {i.name: i for i in Instance.objects.filter(host=host).select_related("service", "version")}
    live_services = set(Service.objects.values_list("name", flat=True))
    seen = set()
    for state in states:
        instance_label = state.labels.get(LABEL_INSTANCE, "")
        instance = known.get(instance_label)
        if instance is None or state.labels.get(LABEL_SERVICE) not in live_services:
            if not _created_just_now(state):
                runtime.remove(state.id)
                stats["orphans"] += 1
            continue
        if state.labels.get(LABEL_ROLE) != "main":
            continue
        seen.add(instance.name)
        try:
            _instance_heal(instance=instance, state=state, runtime=runtime, stats=stats)
        except Exception as exc:
            service_failure_record(service_id=instance.service_id, exc=exc)
            stats["errors"] += 1
    for instance in known.values():
        started_before_list = instance.started_at is not None and instance.started_at < listed_at
        if instance.name not in seen and instance.status == InstanceStatus.RUNNING and started_before_list:
            # The container vanished: forget the row so convergence creates a fresh one.
            event_record(service=instance.service, reason="Missing", message=f"container of {instance.name} is gone; recreating", warning=True, instance=instance.name)
            Instance.objects.filter(pk=instance.pk).delete()


def _instance_heal(*, instance: Instance, state, runtime, stats: dict) -> None:
    """Record a crash of a running instance, or restart a crash-looping one whose back-off is over."""
    if not state.running and instance.status == InstanceStatus.RUNNING:
        _instance_crashed(instance=instance, runtime=runtime, container_id=state.id)
    elif not state.running and instance.status == InstanceStatus.FAILED and instance.reason == "CrashLoopBackOff":
        if instance.next_restart_at and instance.next_restart_at <= timezone.now():
            restarted = runtime.restart(state.id, grace_seconds=1)
            if restarted:
                # A restart may publish the port on a different ephemeral host port.
                Instance.objects.filter(pk=instance.pk).update(
                    status=InstanceStatus.RUNNING, reason="Running", started_at=timezone.now(), ready=False,
                    host_port=restarted.host_port,
                )
                stats["restarted"] += 1


def services_needing_convergence(*, with_status: bool = False) -> list:
    """Services whose instances may not match what is desired, found with one query.

    A service converges when it is mid-change (an active status), when its live instance
    count differs from the desired count, or when any instance is failed or of another version.
    """
    odd_instances = Instance.objects.filter(service=OuterRef("pk")).filter(
        Q(status=InstanceStatus.FAILED) | ~Q(version=OuterRef("current_version"))
    )
    rows = (
        Service.objects.exclude(status__in=[ServiceStatus.NOT_DEPLOYED, ServiceStatus.STOPPED])
        .annotate(live=Count("instances"), odd=Exists(odd_instances))
        .values_list("pk", "status", "instance", "live", "odd")
    )
    return [
        (pk, status) if with_status else pk
        for pk, status, desired, live, odd in rows
        if status != ServiceStatus.FAILED
        and (status != ServiceStatus.RUNNING or odd or live != desired)
    ]


def _created_just_now(state) -> bool:
    """A container a deploy step is creating right now has no Instance row visible to us yet."""
    return state.status == "created"


def _instance_crashed(*, instance: Instance, runtime, container_id: str) -> None:
    observed = runtime.inspect(container_id)
    logs = runtime.logs(container_id, tail=50)
    last_state = {
        "exitCode": observed.exit_code if observed else None,
        "oomKilled": bool(observed and observed.oom_killed),
        "reason": "OOMKilled" if observed and observed.oom_killed else "Error",
        "finishedAt": observed.finished_at if observed else None,
        "logs": logs,
    }
    delay = min(settings.BERTH_RESTART_BACKOFF * (2**instance.restarts), settings.BERTH_RESTART_BACKOFF_MAX)
    Instance.objects.filter(pk=instance.pk).update(
        status=InstanceStatus.FAILED,
        reason="CrashLoopBackOff",
        ready=False,
        restarts=F("restarts") + 1,
        last_state=last_state,
        message=f"exited with code {last_state['exitCode']}",
        next_restart_at=timezone.now() + timedelta(seconds=delay),
    )
    event_record(
        service=instance.service,
        reason="OOMKilled" if last_state["oomKilled"] else "Restarted",
        message=f"{instance.name} exited with code {last_state['exitCode']}; restarting in {delay}s",
        warning=True,
        instance=instance.name,
    )
