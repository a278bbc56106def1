"""Long teardowns do not hold up other tenants: a real dockerd, Redis, the Celery workers and the prober."""

import time

import pytest

from deployments.actions import services, workspaces
from deployments.choices import ServiceStatus
from deployments.models import Service
from tests.deployments.test_engine import containers_of, wait_status, web_config
from tests.stack import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis]

GRACE = 5
STUBBORN = 6


def stubborn_config(name: str, image: str, *, instance: int) -> dict:
    """httpd behind a shell that ignores SIGTERM: every stop lasts the whole grace period."""
    config = web_config(name, image, instance=instance)
    config["containers"][0]["script"] = (
        "mkdir -p /www && echo ok > /www/index.html && trap '' TERM; httpd -f -p 8000 -h /www; sleep 3600"
    )
    config["metadata"]["eas"]["termination_grace_period"] = GRACE
    config["metadata"]["memory"] = 16
    return config


def test_a_long_teardown_neither_runs_serially_nor_delays_another_tenants_deploy(
    local_host, alice, charlie, busybox_image
):
    tenant_a = workspaces.workspace_current_ensure(user=alice)
    tenant_b = workspaces.workspace_current_ensure(user=charlie)
    # Two of them: serially, their teardowns would hold both of the deploy worker's slots.
    stubborn = [
        services.service_create(
            actor=alice, workspace=tenant_a, config=stubborn_config(f"stubborn{n}", busybox_image, instance=STUBBORN)
        )[0]
        for n in range(2)
    ]
    for service in stubborn:
        wait_status(service.name, ServiceStatus.RUNNING, timeout=120)

    deleted_at = time.monotonic()
    for service in stubborn:
        services.service_delete(actor=alice, service=Service.objects.get(pk=service.pk))
    fresh, _ = services.service_create(
        actor=charlie, workspace=tenant_b, config=web_config("fresh", busybox_image, instance=1)
    )

    wait_status(fresh.name, ServiceStatus.RUNNING, timeout=STUBBORN * GRACE + 30)
    fresh_running = time.monotonic() - deleted_at
    assert fresh_running < GRACE + 15, f"the other tenant's service ran after {fresh_running:.1f}s"
    gone = lambda: not Service.objects.filter(pk__in=[s.pk for s in stubborn]).exists()  # noqa: E731
    wait_for(gone, timeout=STUBBORN * GRACE + 30, what="delete")
    teardown = time.monotonic() - deleted_at
    print(f"teardown of 2 x {STUBBORN} instances: {teardown:.1f}s; other tenant Running after {fresh_running:.1f}s")
    assert all(containers_of(s.name) == [] for s in stubborn)
    # Serially each teardown takes STUBBORN x GRACE = 30 s; in parallel about one grace period.
    assert GRACE <= teardown < 2 * GRACE + 5, f"teardown took {teardown:.1f}s"
