"""A private image one workspace pulled with its credentials does not run for another workspace
without credentials, though the host has it cached (a real registry with htpasswd auth)."""

import pytest

from deployments.actions import credentials, lifecycle, services, workspaces
from deployments.choices import ServiceStatus
from deployments.models import PrivateImagePull, Service
from tests.conftest import REGISTRY_PASSWORD, REGISTRY_USER
from tests.deployments.test_engine import containers_of, wait_status, web_config
from tests.deployments.test_engine_images import pushed_image, untag  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.docker, pytest.mark.redis]


def test_a_cached_private_image_runs_for_another_workspace_only_with_its_own_credentials(
    local_host,
    alice,
    charlie,
    pushed_image,  # noqa: F811 (the fixture imported above)
    private_registry,
):
    untag(pushed_image)
    tenant_a = workspaces.workspace_current_ensure(user=alice)
    tenant_b = workspaces.workspace_current_ensure(user=charlie)
    assert tenant_a != tenant_b
    credentials.registry_credential_create(
        actor=alice, workspace=tenant_a, name="private", registry=private_registry,
        username=REGISTRY_USER, password=REGISTRY_PASSWORD,
    )  # fmt: skip
    mine, _ = services.service_create(
        actor=alice, workspace=tenant_a, config=web_config("privmine", pushed_image, instance=1)
    )
    wait_status(mine.name, ServiceStatus.RUNNING, timeout=60)
    assert PrivateImagePull.objects.filter(workspace=tenant_a).exists()

    # The image is on the host now. Tenant B names it without any credentials: a real pull is refused.
    theirs, _ = services.service_create(
        actor=charlie, workspace=tenant_b, config=web_config("privtheirs", pushed_image, instance=1)
    )
    failed = wait_status(theirs.name, ServiceStatus.FAILED, timeout=60)
    assert f"registry {private_registry} refused the credentials" in failed.message
    assert not [c for c in containers_of(theirs.name) if c.status == "running"]

    # With its own working credentials it pulls, and from then on may use the cached copy.
    credentials.registry_credential_create(
        actor=charlie, workspace=tenant_b, name="mine-too", registry=private_registry,
        username=REGISTRY_USER, password=REGISTRY_PASSWORD,
    )  # fmt: skip
    lifecycle.service_start(actor=charlie, service=Service.objects.get(pk=theirs.pk))
    wait_status(theirs.name, ServiceStatus.RUNNING, timeout=60)
    assert PrivateImagePull.objects.filter(workspace=tenant_b).exists()


def test_a_public_image_on_the_host_still_runs_for_every_workspace_without_a_pull(
    local_host, alice, charlie, busybox_image
):
    for user, name in ((alice, "pubmine"), (charlie, "pubtheirs")):
        workspace = workspaces.workspace_current_ensure(user=user)
        service, _ = services.service_create(
            actor=user, workspace=workspace, config=web_config(name, busybox_image, instance=1)
        )
        wait_status(service.name, ServiceStatus.RUNNING, timeout=60)
    assert not PrivateImagePull.objects.exists()
