"""Honest status on the service page, the list and the API (issue 12 #2 display, #15 wording):
old and new versions counted apart, the serving version is "current", a stuck update says why
and offers to cancel, and plain phrases for what a deployment did.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments.actions.services import service_create, service_patch
from deployments.choices import DeploymentKind, DeploymentStatus, ServiceStatus
from deployments.engine import progress
from deployments.events import event_record
from deployments.models import Deployment, DockerHost, Instance, Service
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

UNSCHEDULABLE = "no host has room for 1 CPU and 512 MB"


def add(service, host, version, ordinal, ready):
    return Instance.objects.create(
        service=service, version=version, host=host, ordinal=ordinal, ready=ready,
        name=f"berth-{service.name}-v{version.number}-{ordinal}", host_port=32000 + 10 * version.number + ordinal,
    )  # fmt: skip


@pytest.fixture
def stuck(alice, team, flask_config):
    """flask_demo v1 serving with 2 ready instances; v2 saved, its rollout blocked for lack of room."""
    service, _ = service_create(actor=alice, workspace=team, config=flask_config)
    host = DockerHost.objects.create(name="node-1", url="unix:///x", address="10.0.0.5", cpus=2, memory_mb=4096)
    v1 = service.current_version
    for ordinal in (0, 1):
        add(service, host, v1, ordinal, ready=True)
    service, _, _ = service_patch(
        actor=alice, service=service, patch={"containers[0].env": [{"name": "X", "value": "2"}]}
    )
    Service.objects.filter(pk=service.pk).update(status=ServiceStatus.UPDATING)
    Deployment.objects.filter(service=service).update(status=DeploymentStatus.SUCCEEDED)
    Deployment.objects.create(service=service, kind=DeploymentKind.UPDATE, version=service.current_version,
                              status=DeploymentStatus.RUNNING, phase="creating")  # fmt: skip
    event_record(service=service, reason="Unschedulable", message=UNSCHEDULABLE, warning=True)
    service.refresh_from_db()
    return service


def body_of(client, user, service) -> str:
    client.force_login(user)
    return client.get(reverse("service-detail", args=[service.name])).content.decode()


def test_a_stalled_update_counts_old_and_new_apart_instead_of_claiming_nothing_runs(client, alice, stuck):
    assert stuck.current_version.number == 2
    body = body_of(client, alice, stuck)
    assert '<span id="service-counts" class="counts">2 wanted · v1 ready 2 · v2 pending 2</span>' in body
    assert "Running: 0" not in body


def test_the_serving_version_is_current_until_the_new_one_has_taken_over(client, alice, stuck):
    versions = body_of(client, alice, stuck).split('id="versions"')[1]
    v2, v1 = versions.split("<tr>")[2:4]
    assert "current" in v1 and "current" not in v2 and "rolling out" in v2
    assert progress.serving_version(stuck) == 1
    for ordinal in (0, 1):
        add(stuck, DockerHost.objects.get(), stuck.current_version, 2 + ordinal, ready=True)
    assert progress.serving_version(stuck) == 2


def test_a_stalled_update_says_why_and_offers_to_cancel_back_to_the_serving_version(client, alice, bob, stuck):
    body = body_of(client, alice, stuck)
    stuck_box = body[body.index('id="update-stuck"') :].split("</div>")[0]
    assert UNSCHEDULABLE in stuck_box and "v1 keeps serving" in stuck_box
    assert f'action="{reverse("service-rollback", args=[stuck.name, 1])}"' in stuck_box
    assert "Cancel the update (back to v1)" in stuck_box
    assert "Cancel the update" not in body_of(client, bob, stuck)  # a viewer is told, not offered
    client.force_login(alice)
    client.post(reverse("service-rollback", args=[stuck.name, 1]))
    stuck.refresh_from_db()
    assert stuck.current_version.number == 1


def test_the_api_detail_gains_per_version_counts_and_the_serving_version(bob, stuck):
    body = api_client_for(bob).get(f"/api/v1/services/{stuck.name}").json()
    assert body["instances_by_version"] == [
        {"version": 2, "ready": 0, "pending": 2, "target": True},
        {"version": 1, "ready": 2, "pending": 0, "target": False},
    ]
    assert body["serving_version"] == 1
    assert "counts" in body  # the EAS counts stay


@pytest.mark.parametrize(
    "kind, status, number, serving, phrase",
    [
        ("create", "running", 1, None, "Deploy v1"),
        ("update", "succeeded", 2, 2, "Deployed v2"),
        ("stop", "succeeded", 3, 3, "Stopped v3"),
        ("rollback", "running", 2, 3, "Roll back to v2"),
        ("rollback", "running", 3, 2, "Deploy v3"),
        ("restart", "queued", 1, 1, "Restart v1"),
    ],
)
def test_deployments_are_described_in_plain_words(kind, status, number, serving, phrase, stuck):
    deployment = Deployment(kind=kind, status=status, version=stuck.versions.get(number=1))
    deployment.version.number = number
    assert progress.deployment_phrase(deployment, serving) == phrase


def test_right_after_restart_the_badge_says_restarting_not_running_with_zero_ready(client, alice, stuck):
    Instance.objects.filter(service=stuck).delete()
    Service.objects.filter(pk=stuck.pk).update(status=ServiceStatus.RUNNING)
    Deployment.objects.filter(service=stuck).update(status=DeploymentStatus.SUCCEEDED)
    Deployment.objects.create(service=stuck, kind=DeploymentKind.RESTART, version=stuck.current_version)
    body = body_of(client, alice, stuck)
    assert '<span class="badge Running">Restarting</span>' in body
    assert "v2 pending 2" in body and "Running [" not in body
    assert "Restart v2 · queued" in body


def test_stop_and_restart_explain_the_grace_period_and_count_it_down(client, alice, stuck):
    Deployment.objects.filter(service=stuck).update(status=DeploymentStatus.SUCCEEDED)
    stop = Deployment.objects.create(service=stuck, kind=DeploymentKind.STOP, version=stuck.current_version)
    Service.objects.filter(pk=stuck.pk).update(status=ServiceStatus.STOPPING)
    assert "stopping: waiting up to 30 s for in-flight requests</p>" in body_of(client, alice, stuck)
    started = timezone.now() - timedelta(seconds=12)
    Deployment.objects.filter(pk=stop.pk).update(status=DeploymentStatus.RUNNING, started_at=started)
    assert "stopping: waiting up to 30 s for in-flight requests (18 s left)" in body_of(client, alice, stuck)
    Deployment.objects.filter(pk=stop.pk).update(status=DeploymentStatus.SUCCEEDED)
    assert 'id="grace-notice"' not in body_of(client, alice, stuck)


def test_the_mounts_panel_rereads_itself_while_the_service_changes_and_stops_once_it_settles(client, alice, stuck):
    client.force_login(alice)
    url = reverse("service-mounts", args=[stuck.name])
    polled = client.get(url, headers={"HX-Request": "true"})
    assert polled.status_code == 200
    assert f'hx-get="{url}" hx-trigger="every 2s"' in polled.content.decode()
    Service.objects.filter(pk=stuck.pk).update(status=ServiceStatus.RUNNING)
    settled = client.get(url, headers={"HX-Request": "true"})
    assert settled.status_code == 286 and "hx-trigger" not in settled.content.decode()
