"""The bodies of the deploy tasks: claim a Deployment row, then converge (or restart in place)."""

from django.utils import timezone

from deployments.choices import (
    DeploymentStatus,
)
from deployments.engine.converge import service_converge
from deployments.engine.hosts import host_runtime
from deployments.engine.networks import instance_endpoint
from deployments.engine.status import service_refresh_status
from deployments.engine.versions import grace_period
from deployments.events import event_record
from deployments.locks import service_lock
from deployments.models import Deployment, Instance
from deployments.runtime import LABEL_INSTANCE, LABEL_ROLE


def deployment_execute(*, deployment_id: int) -> None:
    """Claim a queued deployment and run the first convergence step. Safe to run twice."""
    claimed = Deployment.objects.filter(pk=deployment_id, status=DeploymentStatus.QUEUED).update(
        status=DeploymentStatus.RUNNING, started_at=timezone.now(), phase="pulling"
    )
    deployment = Deployment.objects.filter(pk=deployment_id).select_related("service").first()
    if deployment is None:
        return
    if not claimed and deployment.status != DeploymentStatus.RUNNING:
        return  # already finished: a redelivered message
    # Redelivered while RUNNING (the worker died mid-step): converging again is exactly right.
    service_converge(service_id=deployment.service_id)


def deployment_restart_execute(*, deployment_id: int) -> None:
    """Restart every instance's containers in place (SIGTERM, grace, start). Safe to repeat."""
    claimed = Deployment.objects.filter(pk=deployment_id, status=DeploymentStatus.QUEUED).update(
        status=DeploymentStatus.RUNNING, started_at=timezone.now(), phase="starting"
    )
    if not claimed:
        return
    deployment = Deployment.objects.select_related("service").get(pk=deployment_id)
    service = deployment.service
    with service_lock(service.pk, wait=30) as acquired:
        if not acquired:
            return
        for instance in Instance.objects.filter(service=service).select_related("host", "version"):
            if instance.host is None:
                continue
            grace = grace_period(instance.version)
            runtime = host_runtime(instance.host)
            Instance.objects.filter(pk=instance.pk).update(ready=False, started_at=timezone.now())
            for state in runtime.list({LABEL_INSTANCE: instance.name}):
                restarted = runtime.restart(state.id, grace_seconds=grace)
                if restarted and state.labels.get(LABEL_ROLE) == "main":
                    Instance.objects.filter(pk=instance.pk).update(**instance_endpoint(instance.host, restarted))
            event_record(
                service=service, reason="Restarted", message=f"restarted {instance.name}", instance=instance.name
            )
    service_refresh_status(service_id=service.pk)
