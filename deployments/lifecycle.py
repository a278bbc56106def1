"""Lifecycle actions: deploy, stop, start, restart, scale, roll back, delete; Docker hosts.

Like deployments/services.py (which calls into here for create / modify / delete),
each function is keyword-only, owns its transaction, writes an Event in it and
enqueues its task after commit. The engine (deployments/engine.py) does the work.
"""

from django.db import transaction
from django.utils import timezone

from deployments import engine
from deployments.choices import DeploymentKind, DeploymentStatus, HostStatus, InstanceStatus, ServiceStatus
from deployments.errors import Conflict, ConfigInvalid, Forbidden, NotFound
from deployments.models import Deployment, DockerHost, Instance, Service, ServiceVersion


def _actor_name(actor) -> str:
    return actor.get_username() if actor is not None else "system"


def deployment_enqueue_on_commit(*, service: Service, kind: str, actor, version: ServiceVersion | None = None) -> Deployment:
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

    def send():
        from deployments import tasks

        task = tasks.service_restart if kind == DeploymentKind.RESTART else tasks.deployment_execute
        result = task.delay(deployment.pk)
        Deployment.objects.filter(pk=deployment.pk).update(task_id=result.id or "")

    transaction.on_commit(send)
    return deployment


def _set_status(service: Service, status: str, message: str = "") -> None:
    Service.objects.filter(pk=service.pk).update(status=status, message=message, updated_at=timezone.now())
    service.status, service.message = status, message


def service_deploy_on_commit(*, service: Service, actor, kind: str = DeploymentKind.CREATE) -> Deployment:
    """Start deploying the service's current version (create, or deploying a saved draft)."""
    _set_status(service, ServiceStatus.CREATING)
    engine.event_record(service=service, reason="Creating", message=f"deploying version {service.current_version.number}", actor=_actor_name(actor))
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
    engine.event_record(service=service, reason="Updated" if new_version else "Scaled", message=message, actor=_actor_name(actor))
    return deployment_enqueue_on_commit(service=service, kind=kind, actor=actor)


def _check_write(actor, service: Service) -> None:
    from deployments.services import check_can_write

    check_can_write(user=actor, workspace=service.workspace)


@transaction.atomic
def service_stop(*, actor, service: Service) -> Deployment:
    """Stop every instance; config, versions and token are kept. Safe to repeat."""
    _check_write(actor, service)
    if service.status == ServiceStatus.STOPPED:
        raise Conflict(f"service {service.name!r} is already stopped")
    _set_status(service, ServiceStatus.STOPPING)
    engine.event_record(service=service, reason="Stopping", message="stopping all instances", actor=_actor_name(actor))
    return deployment_enqueue_on_commit(service=service, kind=DeploymentKind.STOP, actor=actor)


@transaction.atomic
def service_start(*, actor, service: Service) -> Deployment:
    """Bring a stopped (or never deployed, or failed) service back with its current version."""
    _check_write(actor, service)
    if service.status not in (ServiceStatus.STOPPED, ServiceStatus.NOT_DEPLOYED, ServiceStatus.FAILED):
        raise Conflict(f"service {service.name!r} is {service.status}; only a stopped or failed service can be started")
    Instance.objects.filter(service=service, status=InstanceStatus.FAILED).delete()
    _set_status(service, ServiceStatus.STARTING if service.status == ServiceStatus.STOPPED else ServiceStatus.CREATING)
    engine.event_record(service=service, reason="Starting", message="starting instances", actor=_actor_name(actor))
    return deployment_enqueue_on_commit(service=service, kind=DeploymentKind.START, actor=actor)


@transaction.atomic
def service_restart(*, actor, service: Service) -> Deployment:
    """Restart every instance's containers, one instance at a time."""
    _check_write(actor, service)
    if service.status in (ServiceStatus.STOPPED, ServiceStatus.NOT_DEPLOYED, ServiceStatus.DELETING, ServiceStatus.FAILED):
        raise Conflict(f"service {service.name!r} is {service.status}; start it instead")
    engine.event_record(service=service, reason="Restarting", message="restarting instances one at a time", actor=_actor_name(actor))
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
    engine.event_record(service=service, reason="RollingBack", message=f"rolling back to version {number}", actor=_actor_name(actor))
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
    engine.event_record(service=service, reason="Deleting", message="removing every instance", actor=_actor_name(actor))
    deployment_enqueue_on_commit(service=service, kind=DeploymentKind.DELETE, actor=actor)
    return False


# --- hosts -----------------------------------------------------------------------------------


def _check_staff(actor) -> None:
    if actor is not None and not actor.is_staff:
        raise Forbidden("only administrators manage Docker hosts")


def host_register(*, name: str, url: str, address: str, actor=None, labels: dict | None = None, tls: dict | None = None) -> DockerHost:
    """Add a Docker host (or update its URL and address) and read its capacity. Safe to repeat."""
    _check_staff(actor)
    if not (url.startswith("unix://") or url.startswith("tcp://")):
        raise ConfigInvalid([{"path": "url", "message": "use unix:///path/to/docker.sock or tcp://host:port"}])
    tls = tls or {}
    host, _ = DockerHost.objects.update_or_create(
        name=name,
        defaults={
            "url": url,
            "address": address,
            "labels": labels or {},
            "tls_ca": tls.get("ca", ""),
            "tls_cert": tls.get("cert", ""),
            "tls_key": tls.get("key", ""),
        },
    )
    return engine.host_refresh(host=host)


def host_drain(*, actor, host: DockerHost, drain: bool = True) -> DockerHost:
    """Stop placing new instances on the host (running ones stay); `drain=False` undoes it."""
    _check_staff(actor)
    DockerHost.objects.filter(pk=host.pk).update(status=HostStatus.DRAINING if drain else HostStatus.READY)
    host.refresh_from_db()
    return host


def host_remove(*, actor, host: DockerHost) -> None:
    _check_staff(actor)
    if host.instances.exists():
        raise Conflict(f"host {host.name!r} still runs instances: drain it and wait until they moved or stop them")
    host.delete()


def image_test_pull(*, actor, workspace, config: object) -> list[dict]:
    """Pull every image of a config on a ready host with the credentials a deploy would use.

    Returns one {image, ok, message} per image, so the form can say which image or which
    credential is wrong before anything is saved. Raises ConfigInvalid for a bad config.
    """
    from deployments import services, spec
    from deployments.models import Service as ServiceModel

    services.check_can_write(user=actor, workspace=workspace)
    result = spec.validate_config(config)
    if not result.ok:
        raise ConfigInvalid(result.errors, result.warnings)
    host = DockerHost.objects.filter(status=HostStatus.READY).order_by("name").first()
    if host is None:
        raise Conflict("no Docker host is ready to pull on: ask an administrator to add or undrain one")
    runtime = engine.host_runtime(host)
    # Credentials resolve against the workspace; an unsaved service has none of its own yet.
    probe = ServiceModel(name=result.config["name"], workspace=workspace)
    outcomes = []
    for image in dict.fromkeys(c["image"] for c in result.config["containers"]):
        try:
            auth = engine.registry_auth_for(service=probe, config=result.config, image=image)
            image_id = runtime.pull(image, auth)
            outcomes.append({"image": image, "ok": True, "message": f"pulled on host {host.name} ({image_id[:19]})"})
        except engine.RuntimeError_ as exc:
            outcomes.append({"image": image, "ok": False, "message": str(exc)})
    return outcomes
