"""Convergence: move a service's actual instances one safe step towards its desired state.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deployments.choices import (
    DeploymentStatus,
    InstanceStatus,
    ServiceStatus,
)
from deployments.engine import rollout
from deployments.engine.cluster import cluster_converge, service_cluster
from deployments.engine.containers import PREPARE_MISSING_PYTHON
from deployments.engine.hosts import host_runtime
from deployments.engine.instances import instance_start
from deployments.engine.rollout import rolling_limits
from deployments.engine.status import ZERO_INSTANCE_STATES, _deployment_finish, service_refresh_status
from deployments.engine.teardown import instances_remove
from deployments.engine.versions import grace_period, version_config
from deployments.events import event_record
from deployments.locks import service_lock
from deployments.models import Deployment, DockerHost, Instance, Service, ServiceVersion
from deployments.runtime import LABEL_INSTALLATION, LABEL_SERVICE, RuntimeFailure

log = logging.getLogger(__name__)


# Restarts of a never-ready instance after which it counts as failed.
CRASH_LIMIT = 3


def service_converge(*, service_id: int) -> bool:
    """One convergence step for a service. Safe to call any time, from anywhere, repeatedly.

    Returns False when another process holds the service's lock (it will do the work).
    """
    with service_lock(service_id) as acquired:
        if not acquired:
            return False
        service = Service.objects.select_related("workspace", "current_version").filter(pk=service_id).first()
        if service is None:
            return True
        converge_step(service)
        return True


def converge_step(service: Service) -> None:
    """The body of `service_converge`; the caller holds the service's lock."""
    if service.status == ServiceStatus.FAILED:
        return  # waits for a person: modify, start or delete moves it on
    cluster = service_cluster(service)
    if cluster is not None:  # Swarm places the tasks; Berth scales one Swarm service per version
        cluster_converge(service=service, host=cluster, runtime=host_runtime(cluster))
        return
    target = service.current_version
    desired = 0 if service.status in ZERO_INSTANCE_STATES or target is None else service.instance
    # Instances are only ever Creating inside a step holding this lock: one found now was left by a
    # worker that died mid-start. Remove it (and any container it got) and start afresh.
    leftovers = list(Instance.objects.filter(service=service, status=InstanceStatus.CREATING).select_related("host"))
    for leftover in leftovers:
        event_record(service=service, reason="Recovered", message=f"removing {leftover.name}, left half-made by a stopped worker", warning=True, instance=leftover.name)
    instances_remove(removals=[(leftover, 0) for leftover in leftovers])
    instances = list(Instance.objects.filter(service=service).select_related("host", "version").order_by("ordinal"))
    config = version_config(target) if target else {}
    grace = grace_period(target)
    new = [i for i in instances if target and i.version_id == target.pk]
    old = [i for i in instances if not target or i.version_id != target.pk]
    pulled: dict = {}

    if desired == 0:
        instances_remove(removals=[(i, grace_period(i.version)) for i in instances])
        _finish_zero(service)
        return

    # A rollout whose new instances cannot start or never become ready fails; the old ones keep serving.
    if old and not target.failed and _rollout_failed(new):
        reason = _failure_reason(new)
        ServiceVersion.objects.filter(pk=target.pk).update(failed=True)
        target.failed = True
        event_record(service=service, reason="RolloutFailed", message=f"version {target.number} failed: {reason}", warning=True)
        _deployment_finish(service, ok=False, message=reason)
    if old and target.failed:
        instances_remove(removals=[(instance, 0) for instance in new])
        keep = _previous_good_version(old)
        Service.objects.filter(pk=service.pk).update(current_version=keep, status=ServiceStatus.RUNNING)
        service.current_version = keep
        service_refresh_status(service_id=service.pk)
        return

    # A create (or start) whose instances fail to start, or crash before ever being ready, fails the
    # service. Once it ran, a crash is restarted with back-off instead: the deployment is finished.
    deploying = Deployment.objects.filter(service=service, status=DeploymentStatus.RUNNING).exists()
    if not old and deploying and _rollout_failed(new) and not any(i.ready for i in new):
        reason = _failure_reason(new)
        with transaction.atomic():
            Service.objects.filter(pk=service.pk).update(status=ServiceStatus.FAILED, message=reason)
            event_record(service=service, reason="Failed", message=reason, warning=True)
            _deployment_finish(service, ok=False, message=reason)
        return

    limits = rolling_limits(config, desired)
    by_key = {i.pk: i for i in instances}
    full = False
    # Retiring old instances frees surge budget (and, on a full host, room): plan again at once rather
    # than at the next trigger. Bounded: each round either retires something or ends the loop.
    for _ in range(4):
        step = rollout.plan(
            desired=desired, limits=limits, new=[_slot(i) for i in new], old=[_slot(i) for i in old], full=full
        )
        instances_remove(removals=[(by_key[key], grace) for key in step.retire_new])
        new = [i for i in new if i.pk not in step.retire_new]
        for _ in range(step.start):
            started = instance_start(service=service, version=target, pulled=pulled)
            if started is None:
                full = True  # no host has room: the old version gives way within max_unavailable
                break
            by_key[started.pk] = started
            new.append(started)
        if full:
            step = rollout.plan(
                desired=desired, limits=limits, new=[_slot(i) for i in new], old=[_slot(i) for i in old], full=True
            )
        instances_remove(removals=[(by_key[k], grace_period(by_key[k].version)) for k in step.retire_old])
        old = [i for i in old if i.pk not in step.retire_old]
        if not step.retire_old:
            break
    service_refresh_status(service_id=service.pk)


def _slot(instance: Instance) -> rollout.Slot:
    # An instance whose start failed (pull, create) does not count; a crash-looping one does: reconcile
    # restarts it in place with back-off.
    failed_to_start = instance.status == InstanceStatus.FAILED and instance.reason != "CrashLoopBackOff"
    return rollout.Slot(key=instance.pk, ordinal=instance.ordinal, ready=instance.ready, live=not failed_to_start)


def _rollout_failed(new: list[Instance]) -> bool:
    if not new:
        return False
    if any(i.status == InstanceStatus.FAILED and i.restarts == 0 and i.reason != "CrashLoopBackOff" for i in new):
        return True  # could not even start (pull, create)
    if any(i.restarts >= CRASH_LIMIT and not i.ready for i in new):
        return True
    deadline = timezone.now() - timedelta(seconds=settings.BERTH_ROLLOUT_TIMEOUT)
    return any(not i.ready and i.created_at < deadline for i in new)


def _failure_reason(new: list[Instance]) -> str:
    for instance in new:
        if instance.status == InstanceStatus.FAILED or instance.restarts:
            detail = instance.message or instance.reason
            if instance.last_state:
                code = instance.last_state.get("exitCode")
                logs = (instance.last_state.get("logs") or "").strip().splitlines()[-5:]
                detail = f"{instance.name} exited with code {code}" + (
                    " (OOMKilled)" if instance.last_state.get("oomKilled") else ""
                )
                if code == PREPARE_MISSING_PYTHON or logs:
                    detail += "; last log lines: " + " | ".join(logs)
            return detail
    return f"no instance became ready within {settings.BERTH_ROLLOUT_TIMEOUT}s: check the port and the health check"


def _previous_good_version(old: list[Instance]) -> ServiceVersion:
    return max((i.version for i in old), key=lambda v: v.number)


def _finish_zero(service: Service) -> None:
    if service.status == ServiceStatus.DELETING:
        for host in DockerHost.objects.all():
            try:
                runtime = host_runtime(host)
                mine = {LABEL_INSTALLATION: settings.BERTH_INSTALLATION, LABEL_SERVICE: service.name}
                for state in runtime.list(mine):
                    runtime.remove(state.id)
                runtime.remove_volumes(mine)
            except RuntimeFailure as exc:
                log.warning("cleanup of %s on %s failed: %s", service.name, host.name, exc)
        _deployment_finish(service, ok=True)
        service.delete()
        return
    with transaction.atomic():
        Service.objects.filter(pk=service.pk, status=ServiceStatus.STOPPING).update(status=ServiceStatus.STOPPED, message="")
        if service.status == ServiceStatus.STOPPING:
            event_record(service=service, reason="Stopped", message="all instances stopped")
        _deployment_finish(service, ok=True)
