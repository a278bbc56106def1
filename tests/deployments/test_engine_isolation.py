"""Reconcile heals every service even when one of them cannot converge: the real worker, beat and dockerd."""

import docker
import pytest

from deployments.actions import services, workspaces
from deployments.choices import EventType, ServiceStatus
from deployments.models import Event, Instance, Service, ServiceVersion
from tests.deployments.test_engine import containers_of, wait_status, web_config
from tests.stack import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis]


def test_a_service_whose_config_is_broken_in_the_db_does_not_stop_another_tenants_instance_being_recreated(
    local_host, alice, charlie, busybox_image
):
    # Reconcile goes through services by name: the broken one ("apoison") comes first.
    broken, _ = services.service_create(
        actor=alice,
        workspace=workspaces.workspace_current_ensure(user=alice),
        config=web_config("apoison", busybox_image, instance=1),
        deploy=False,
    )
    healthy, _ = services.service_create(
        actor=charlie,
        workspace=workspaces.workspace_current_ensure(user=charlie),
        config=web_config("bhealthy", busybox_image, instance=1),
    )
    wait_status(healthy.name, ServiceStatus.RUNNING)
    try:
        # A config made invalid behind the spec's back (a bad migration, a hand edit): no containers.
        version = ServiceVersion.objects.get(pk=broken.current_version_id)
        ServiceVersion.objects.filter(pk=version.pk).update(config={**version.config, "containers": []})
        Service.objects.filter(pk=broken.pk).update(status=ServiceStatus.CREATING)
        wait_for(
            lambda: Event.objects.filter(service=broken, reason="ReconcileError").exists(),
            timeout=20,
            what="the broken service's ReconcileError",
        )
        lost = Instance.objects.get(service=healthy)
        docker.from_env().containers.get(lost.container_id).remove(force=True)

        def recreated():
            fresh = Instance.objects.filter(service=healthy).exclude(pk=lost.pk).first()
            running = [c for c in containers_of(healthy.name) if c.status == "running"]
            return fresh is not None and fresh.ready and len(running) == 1

        wait_for(recreated, timeout=20, what="the healthy service's instance to be recreated")
        warning = Event.objects.filter(service=broken, reason="ReconcileError").first()
        assert warning.type == EventType.WARNING
        assert "Traceback" not in warning.message and "IndexError" in warning.message
    finally:
        Service.objects.filter(pk=broken.pk).delete()
