"""Workspace quotas on instances, CPU and memory: enforced by the actions, set by administrators."""

import copy

import pytest

from deployments.actions import lifecycle
from deployments.actions.quotas import QuotaExceeded, workspace_quota_set
from deployments.actions.services import service_create, service_patch, service_update
from deployments.choices import ServiceStatus
from deployments.models import Service, Workspace
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


def config(name: str, *, instance: int, cpu: int = 1, memory: int = 512) -> dict:
    return {
        "name": name,
        "containers": [{"image": "example.com/app:1", "command": "serve", "port": 8000}],
        "metadata": {"instance": instance, "cpu": cpu, "memory": memory},
    }


def limit(workspace: Workspace, **quotas) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(**quotas)


def test_a_create_past_the_instance_quota_is_refused_naming_quota_usage_and_request(alice, team):
    limit(team, max_instances=8)
    service_create(actor=alice, workspace=team, config=config("first", instance=6))
    with pytest.raises(QuotaExceeded) as refused:
        service_create(actor=alice, workspace=team, config=config("second", instance=4))
    assert str(refused.value) == "workspace team-a may run 8 instances; it runs 6 and this asks for 4 more"
    assert refused.value.quota == "instances"
    assert not Service.objects.filter(name="second").exists()
    service_create(actor=alice, workspace=team, config=config("third", instance=2))  # exactly at the quota


def test_cpu_and_memory_quotas_count_every_instance(alice, team):
    limit(team, max_cpu=4, max_memory_mb=4096)
    service_create(actor=alice, workspace=team, config=config("first", instance=3, cpu=1, memory=512))
    with pytest.raises(QuotaExceeded, match=r"may use 4 CPU cores; it uses 3 and this asks for 2 more"):
        service_create(actor=alice, workspace=team, config=config("second", instance=1, cpu=2, memory=256))
    with pytest.raises(
        QuotaExceeded, match=r"may use 4096 MB of memory; it uses 1536 MB and this asks for 3072 MB more"
    ):
        service_create(actor=alice, workspace=team, config=config("third", instance=1, cpu=1, memory=3072))


def test_a_scale_or_modify_past_a_quota_is_refused_and_a_shrink_always_passes(alice, team):
    service, _ = service_create(actor=alice, workspace=team, config=config("web", instance=2))
    limit(team, max_instances=3, max_memory_mb=1536)
    with pytest.raises(QuotaExceeded, match="may run 3 instances; it runs 2 and this asks for 2 more"):
        service_patch(actor=alice, service=service, patch={"metadata": {"instance": 4}})
    bigger = copy.deepcopy(config("web", instance=2, memory=1024))
    with pytest.raises(QuotaExceeded, match="it uses 1024 MB and this asks for 1024 MB more"):
        service_update(actor=alice, service=Service.objects.get(pk=service.pk), config=bigger)
    assert Service.objects.get(pk=service.pk).instance == 2
    service_patch(actor=alice, service=Service.objects.get(pk=service.pk), patch={"metadata": {"instance": 3}})
    limit(team, max_instances=1)  # lowered below the usage: shrinking is still allowed
    service_patch(actor=alice, service=Service.objects.get(pk=service.pk), patch={"metadata": {"instance": 2}})


def test_drafts_and_stopped_services_count_nothing_until_they_start(alice, team):
    limit(team, max_instances=2)
    service_create(actor=alice, workspace=team, config=config("running", instance=2))
    draft, _ = service_create(actor=alice, workspace=team, config=config("draft", instance=2), deploy=False)
    with pytest.raises(QuotaExceeded, match="it runs 2 and this asks for 2 more"):
        lifecycle.service_start(actor=alice, service=draft)
    assert Service.objects.get(pk=draft.pk).status == ServiceStatus.NOT_DEPLOYED


def test_only_administrators_set_quotas(alice, team, admin_user):
    from deployments.errors import Forbidden

    with pytest.raises(Forbidden):
        workspace_quota_set(actor=alice, workspace=team, changes={"max_instances": 100})
    workspace_quota_set(actor=admin_user, workspace=team, changes={"max_instances": 4, "max_cpu": 2.5})
    team.refresh_from_db()
    assert (team.max_instances, team.max_cpu, team.max_memory_mb) == (4, 2.5, None)


# --- the API ---------------------------------------------------------------------------------


def test_the_api_refuses_a_create_past_the_quota_with_409(alice_api, team):
    limit(team, max_instances=1)
    response = alice_api.post(f"/api/v1/services?workspace={team.slug}", config("big", instance=2), format="json")
    assert response.status_code == 409, response.content
    assert response.json()["detail"] == "workspace team-a may run 1 instances; it runs 0 and this asks for 2 more"


def test_the_api_refuses_a_scale_past_the_quota_with_409(alice, alice_api, team):
    service, _ = service_create(actor=alice, workspace=team, config=config("web", instance=1))
    limit(team, max_instances=2)
    response = alice_api.patch(f"/api/v1/services/{service.name}", {"metadata.instance": 5}, format="json")
    assert response.status_code == 409, response.content
    assert "may run 2 instances; it runs 1 and this asks for 4 more" in response.json()["detail"]


def test_staff_set_quotas_with_patch_and_owners_cannot(alice_api, bob_api, charlie_api, team, admin_user):
    url = f"/api/v1/workspaces/{team.slug}"
    assert alice_api.patch(url, {"max_instances": 99}, format="json").status_code == 403
    assert bob_api.patch(url, {"max_instances": 99}, format="json").status_code == 403
    assert charlie_api.patch(url, {"max_instances": 99}, format="json").status_code == 404
    staff = api_client_for(admin_user)
    response = staff.patch(url, {"max_instances": 8, "max_cpu": 4, "max_memory_mb": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["quotas"] == {"max_instances": 8, "max_cpu": 4.0, "max_memory_mb": None}
    assert staff.patch(url, {"max_cpu": -1}, format="json").status_code == 400
    assert staff.patch(url, {"max_gpus": 1}, format="json").status_code == 400


def test_owners_see_quotas_and_usage_in_the_workspace_list_and_detail(alice, alice_api, team):
    service_create(actor=alice, workspace=team, config=config("web", instance=3, cpu=1, memory=256))
    limit(team, max_instances=8, max_cpu=4)
    listed = {w["slug"]: w for w in alice_api.get("/api/v1/workspaces").json()["results"]}[team.slug]
    assert listed["quotas"] == {"max_instances": 8, "max_cpu": 4.0, "max_memory_mb": None}
    assert listed["usage"] == {"instances": 3, "cpu": 3.0, "memory_mb": 768}
    detail = alice_api.get(f"/api/v1/workspaces/{team.slug}").json()
    assert detail["quotas"] == listed["quotas"] and detail["usage"] == listed["usage"]
