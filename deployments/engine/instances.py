"""Starting and removing one instance: placement, pull, mounts, containers.
"""

from django.utils import timezone

from deployments import wakeups
from deployments.choices import (
    InstanceStatus,
)
from deployments.engine.build import built_image
from deployments.engine.containers import instance_containers, instance_name, main_container
from deployments.engine.hosts import host_pick, host_runtime
from deployments.engine.images import image_resolve
from deployments.engine.status import _phase
from deployments.engine.teardown import instances_remove
from deployments.engine.versions import version_config
from deployments.events import event_record
from deployments.locks import lock_keepalive
from deployments.models import Instance, Service, ServiceVersion
from deployments.runtime import RuntimeFailure
from deployments.storage import mounts


def _free_ordinal(service: Service, version: ServiceVersion) -> int:
    used = set(Instance.objects.filter(service=service, version=version).values_list("ordinal", flat=True))
    ordinal = 0
    while ordinal in used:
        ordinal += 1
    return ordinal


def instance_start(*, service: Service, version: ServiceVersion, pulled: dict) -> Instance | None:
    """Place, pull and start one new instance of `version`. Returns it, or None when no host has room
    (the service then waits with that reason). A start failure leaves a Failed instance row."""
    config = version_config(version)
    metadata = config.get("metadata") or {}
    cpu, memory = float(metadata.get("cpu") or 0), int(metadata.get("memory") or 0)
    host = host_pick(cpu=cpu, memory_mb=memory)
    if host is None:
        message = f"no host has room for an instance with cpu {cpu:g} and memory {memory} MB"
        if service.message != message:
            Service.objects.filter(pk=service.pk).update(message=message)
            event_record(service=service, reason="Unschedulable", message=message, warning=True)
        return None
    ordinal = _free_ordinal(service, version)
    instance = Instance.objects.create(
        service=service,
        version=version,
        host=host,
        ordinal=ordinal,
        name=instance_name(service.name, version.number, ordinal),
        cpu=cpu,
        memory_mb=memory,
        status=InstanceStatus.CREATING,
        reason="ContainerCreating",
    )
    runtime = host_runtime(host)
    containers = instance_containers(
        config=config,
        service_name=service.name,
        workspace=service.workspace.slug,
        version=version.number,
        ordinal=ordinal,
        bind_address=host.address,
    )
    try:
        # Deploy from code: the main container runs the image built from berth.build (cached by content).
        image = built_image(runtime=runtime, service=service, version=version, config=config, built=pulled)
        if image is not None:
            containers[0].image = image
        volume_mounts = mounts.prepare_mounts(
            runtime=runtime, host=host, service=service, version=version, config=config, instance_name=instance.name
        )
        for container in containers:
            container.mounts = volume_mounts + container.mounts
        for index, container in enumerate(containers):
            lock_keepalive()
            key = (host.pk, container.image)
            if key not in pulled:
                _phase(service, "pulling")
                image_id = version.image_ids.get(container.image)
                # IfNotPresent for public images; private ones only for workspaces that may pull them.
                pulled[key] = image_resolve(
                    runtime=runtime, service=service, version=version, config=config, image=container.image
                )
                if not image_id:
                    # The first id resolved for a version is the one a rollback re-applies.
                    version.image_ids = {**version.image_ids, container.image: pulled[key]}
                    ServiceVersion.objects.filter(pk=version.pk).update(image_ids=version.image_ids)
            _phase(service, "creating")
            container.image = pulled[key]
            state = runtime.start(container)
            if index == 0:
                Instance.objects.filter(pk=instance.pk).update(
                    container_id=state.id,
                    host_port=state.host_port,
                    status=InstanceStatus.RUNNING,
                    reason="Running",
                    started_at=timezone.now(),
                    started=not main_container(config).get("startup_check"),
                )
    except RuntimeFailure as exc:
        Instance.objects.filter(pk=instance.pk).update(status=InstanceStatus.FAILED, reason=exc.reason, message=str(exc))
        event_record(service=service, reason=exc.reason, message=str(exc), warning=True, instance=instance.name)
        instance.refresh_from_db()
        return instance
    _phase(service, "starting")
    wakeups.wake("prober")  # probe it from its start, not from the prober's next poll
    event_record(service=service, reason="Started", message=f"started {instance.name} on host {host.name}", instance=instance.name)
    instance.refresh_from_db()
    return instance


def instance_remove(*, instance: Instance, grace_seconds: int) -> None:
    """Take an instance out of traffic, stop it (SIGTERM, then SIGKILL after the grace) and forget it."""
    instances_remove(removals=[(instance, grace_seconds)])
