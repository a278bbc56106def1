"""Lifecycle actions: deploy, stop, start, restart, roll back, delete. Each owns its transaction,
writes an Event in it and enqueues its task after commit; the engine does the work.
"""

from django.db import transaction
from django.utils import timezone

from deployments.access import check_can_write
from deployments.actions import quotas
from deployments.choices import DeploymentKind, DeploymentStatus, InstanceStatus, ServiceStatus
from deployments.engine import tasks
from deployments.errors import Conflict, NotFound
from deployments.events import actor_name, event_record
from deployments.models import Deployment, Instance, Service, ServiceVersion


def deployment_enqueue_on_commit(
    *, service: Service, kind: str, actor, version: ServiceVersion | None = None
) -> Deployment:
    """Record a Deployment and send its task once the surrounding transaction commits.

    Earlier deployments of the service still queued or running are superseded: the
    engine converges to the latest desired state whatever asked for it.
    """
    Deployment.objects.filter(service=service, status__in=[DeploymentStatus.QUEUED, DeploymentStatus.RUNNING]).update(
        status=DeploymentStatus.SUCCEEDED, message="superseded by a newer change", finished_at=timezone.now()
    )
    deployment = Deployment.objects.create(
        service=service, kind=kind, version=version or service.current_version, created_by=actor
    )

    # Teardowns wait out grace periods: they go to their own queue (engine.tasks.teardown_route).
    teardown = kind in (DeploymentKind.STOP, DeploymentKind.DELETE) or (
        kind == DeploymentKind.SCALE and Instance.objects.filter(service=service).count() > service.instance
    )

    def send():
        task = tasks.deployment_restart_task if kind == DeploymentKind.RESTART else tasks.deployment_execute_task
        result = task.apply_async((deployment.pk,), **(tasks.teardown_route() if teardown else {}))
        Deployment.objects.filter(pk=deployment.pk).update(task_id=result.id or "")

    transaction.on_commit(send)
    return deployment


def _set_status(service: Service, status: str, message: str = "") -> None:
    Service.objects.filter(pk=service.pk).update(status=status, message=message, updated_at=timezone.now())
    service.status, service.message = status, message


def service_deploy_on_commit(*, service: Service, actor, kind: str = DeploymentKind.CREATE) -> Deployment:
    """Start deploying the service's current version (create, or deploying a saved draft)."""
    _set_status(service, ServiceStatus.CREATING)
    event_record(
        service=service,
        reason="Creating",
        message=f"deploying version {service.current_version.number}",
        actor=actor_name(actor),
    )
    return deployment_enqueue_on_commit(service=service, kind=kind, actor=actor)


def service_changed_on_commit(*, service: Service, actor, new_version: bool) -> Deployment | None:
    """After a modify: a rolling update for a new version, a scale for an instance count change."""
    if service.status in (ServiceStatus.NOT_DEPLOYED, ServiceStatus.STOPPED, ServiceStatus.STOPPING):
        return None  # nothing runs; the change applies at the next deploy / start
    has_instances = Instance.objects.filter(service=service).exists()
    if new_version:
        status = ServiceStatus.UPDATING if has_instances else ServiceStatus.CREATING
        message = f"rolling update to version {service.current_version.number}"
        kind = DeploymentKind.UPDATE
    else:
        status, message, kind = ServiceStatus.SCALING, f"scaling to {service.instance} instances", DeploymentKind.SCALE
    _set_status(service, status)
    event_record(
        service=service, reason="Updated" if new_version else "Scaled", message=message, actor=actor_name(actor)
    )
    return deployment_enqueue_on_commit(service=service, kind=kind, actor=actor)


def _check_write(actor, service: Service) -> None:
    check_can_write(user=actor, workspace=service.workspace)


@transaction.atomic
def service_stop(*, actor, service: Service) -> Deployment:
    """Stop every instance; config, versions and token are kept. Safe to repeat."""
    _check_write(actor, service)
    if service.status == ServiceStatus.STOPPED:
        raise Conflict(f"service {service.name!r} is already stopped")
    _set_status(service, ServiceStatus.STOPPING)
    event_record(service=service, reason="Stopping", message="stopping all instances", actor=actor_name(actor))
    return deployment_enqueue_on_commit(service=service, kind=DeploymentKind.STOP, actor=actor)


@transaction.atomic
def service_start(*, actor, service: Service) -> Deployment:
    """Bring a stopped (or never deployed, or failed) service back with its current version."""
    _check_write(actor, service)
    if service.status not in (ServiceStatus.STOPPED, ServiceStatus.NOT_DEPLOYED, ServiceStatus.FAILED):
        raise Conflict(f"service {service.name!r} is {service.status}; only a stopped or failed service can be started")
    quotas.check_quota_for_start(service=service)
    Instance.objects.filter(service=service, status=InstanceStatus.FAILED).delete()
    _set_status(service, ServiceStatus.STARTING if service.status == ServiceStatus.STOPPED else ServiceStatus.CREATING)
    event_record(service=service, reason="Starting", message="starting instances", actor=actor_name(actor))
    return deployment_enqueue_on_commit(service=service, kind=DeploymentKind.START, actor=actor)


@transaction.atomic
def service_restart(*, actor, service: Service) -> Deployment:
    """Restart every instance's containers, one instance at a time."""
    _check_write(actor, service)
    if service.status in (
        ServiceStatus.STOPPED,
        ServiceStatus.NOT_DEPLOYED,
        ServiceStatus.DELETING,
        ServiceStatus.FAILED,
    ):
        raise Conflict(f"service {service.name!r} is {service.status}; start it instead")
    event_record(
        service=service, reason="Restarting", message="restarting instances one at a time", actor=actor_name(actor)
    )
    return deployment_enqueue_on_commit(service=service, kind=DeploymentKind.RESTART, actor=actor)


@transaction.atomic
def service_rollback(*, actor, service: Service, number: int) -> Deployment | None:
    """Re-apply version `number` (config and resolved image ids together) as a rolling update."""
    _check_write(actor, service)
    version = service.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"service {service.name!r} has no version {number}")
    if version.pk == service.current_version_id:
        raise Conflict(f"version {number} is already the current version")
    ServiceVersion.objects.filter(pk=version.pk).update(failed=False)
    Service.objects.filter(pk=service.pk).update(current_version=version)
    service.current_version = version
    event_record(
        service=service, reason="RollingBack", message=f"rolling back to version {number}", actor=actor_name(actor)
    )
    if service.status in (ServiceStatus.NOT_DEPLOYED, ServiceStatus.STOPPED):
        return None
    _set_status(service, ServiceStatus.UPDATING)
    return deployment_enqueue_on_commit(service=service, kind=DeploymentKind.ROLLBACK, actor=actor, version=version)


def service_delete_on_commit(*, service: Service, actor) -> bool:
    """Tear down and delete. Returns True when the row is gone now (nothing ever ran), False when
    the engine will delete it after removing every container and volume."""
    if not Instance.objects.filter(service=service).exists():
        # Nothing runs. A deploy step starting right now finds the row gone and stops; a container
        # it made anyway carries labels of an unknown service and reconcile removes it.
        service.delete()
        return True
    _set_status(service, ServiceStatus.DELETING)
    event_record(service=service, reason="Deleting", message="removing every instance", actor=actor_name(actor))
    deployment_enqueue_on_commit(service=service, kind=DeploymentKind.DELETE, actor=actor)
    return False
