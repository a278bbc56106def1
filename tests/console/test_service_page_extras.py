"""The service page's Scale stepper and actions group, and the list's EAS-like columns (issue 12)."""

import pytest
from django.urls import reverse

from deployments.actions.services import service_create, service_patch
from deployments.models import DockerHost, Instance

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(alice, team, flask_config):
    created, _ = service_create(actor=alice, workspace=team, config=flask_config)
    return created


def test_the_stepper_adds_and_removes_one_instance_and_enter_applies_the_typed_number(client, alice, service):
    client.force_login(alice)
    url = reverse("service-scale", args=[service.name])
    body = client.get(reverse("service-detail", args=[service.name])).content.decode()
    assert f'action="{url}"' in body and 'aria-label="One instance more"' in body
    client.post(url, {"instance": "2", "step": "1"})
    service.refresh_from_db()
    assert service.instance == 3
    client.post(url, {"instance": "3", "step": "-1"})
    client.post(url, {"instance": "5", "step": "0"})  # Enter: the hidden default button
    service.refresh_from_db()
    assert service.instance == 5
    refused = client.post(url, {"instance": "-1", "step": "0"}, follow=True).content.decode()
    assert "Not scaled: choose between 0 and 100 instances." in refused
    service.refresh_from_db()
    assert service.instance == 5


def test_a_viewer_gets_no_stepper_and_cannot_scale(client, bob, service):
    client.force_login(bob)
    body = client.get(reverse("service-detail", args=[service.name])).content.decode()
    assert "scale-stepper" not in body
    assert client.post(reverse("service-scale", args=[service.name]), {"instance": "9"}).status_code == 403


def test_lifecycle_actions_and_delete_are_grouped_together(client, alice, service):
    client.force_login(alice)
    body = client.get(reverse("service-detail", args=[service.name])).content.decode()
    group = body[body.index('role="group" aria-label="Actions"') :].split("</div>")[0]
    assert ">Stop</button>" in group and 'href="#delete-service"' in group
    assert 'id="delete-service"' in body


def test_the_list_shows_image_endpoint_resources_and_instances_per_version(client, alice, service):
    host = DockerHost.objects.create(name="node-1", url="unix:///x", address="10.0.0.5", cpus=8, memory_mb=16384)
    Instance.objects.create(service=service, version=service.current_version, host=host, ordinal=0, ready=True,
                            name=f"berth-{service.name}-v1-0", host_port=32000)  # fmt: skip
    client.force_login(alice)
    body = client.get(reverse("service-list")).content.decode()
    row = body[body.index(f'id="service-row-{service.name}"') :].split("</tr>")[0]
    config = service.current_version.config
    assert config["containers"][0]["image"] in row
    assert f"/api/predict/{service.name}" in row
    assert f"{config['metadata']['memory']} MB" in row
    assert "2 wanted" in row and "v1 ready 1" in row


def test_two_versions_configs_are_compared_as_a_diff_without_secrets(client, alice, service):
    service_patch(
        actor=alice, service=service, patch={"containers[0].image": "registry.example.com/team/flask-app:2.0"}
    )
    client.force_login(alice)
    detail = client.get(reverse("service-detail", args=[service.name])).content.decode()
    url = reverse("service-version-diff", args=[service.name])
    assert f'href="{url}"' in detail
    body = client.get(url).content.decode()
    assert "v1 → v2" in body
    assert '<span class="diff-add">+' in body and "flask-app:2.0" in body
    assert '<span class="diff-del">-' in body
    same = client.get(url, {"a": "2", "b": "2"}).content.decode()
    assert "The two configs are the same." in same
    assert client.get(url, {"a": "9"}).status_code == 404
