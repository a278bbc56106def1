"""GET/PUT/DELETE /api/v1/services/<name>/autoscaler and /cronscaler, and `berth autoscale` / `berth cronscale`."""

import json

import pytest

from deployments.models import Event, Service
from tests.deployments.autoscaling.conftest import running_service

AUTOSCALER = {"min": 1, "max": 5, "scaleStrategies": [{"metricName": "qps", "threshold": 10}]}
CRON = {"ScaleJobs": [{"Name": "morning", "Schedule": "0 0 8 * * *", "TargetSize": 4, "TimeZone": "Asia/Shanghai"}]}


@pytest.fixture
def svc(alice, team, bob, flask_config, scaler_redis):
    from deployments.actions.workspaces import workspace_current_ensure

    service = running_service(alice, flask_config, instance=2)
    Service.objects.filter(pk=service.pk).update(workspace=team)
    assert workspace_current_ensure(user=alice)  # alice keeps a current workspace
    service.refresh_from_db()
    return service


def url(service, what="autoscaler"):
    return f"/api/v1/services/{service.name}/{what}"


def test_put_stores_the_autoscaler_without_a_new_version_and_get_fills_the_defaults(alice_api, svc):
    version = svc.current_version_id

    response = alice_api.put(url(svc), AUTOSCALER, format="json")

    assert response.status_code == 200, response.json()
    body = alice_api.get(url(svc)).json()
    assert body["min"] == 1 and body["max"] == 5
    assert body["scaleStrategies"] == [{"metricName": "qps", "threshold": 10, "service": svc.name}]
    assert body["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 300}
    svc.refresh_from_db()
    assert svc.current_version_id == version and svc.latest_version_number == 1
    config = alice_api.get(f"/api/v1/services/{svc.name}").json()["config"]
    assert config["autoscaler"] == {"min": 1, "max": 5, "strategies": {"qps": 10}}


def test_put_reports_errors_at_their_paths(alice_api, svc):
    body = {"min": 1, "max": 5, "scaleStrategies": [{"metricName": "latency", "threshold": 0}]}

    response = alice_api.put(url(svc), body, format="json")

    assert response.status_code == 400
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"scaleStrategies[0].metricName", "scaleStrategies[0].threshold"}


def test_delete_removes_the_autoscaler_and_get_answers_404(alice_api, svc):
    alice_api.put(url(svc), AUTOSCALER, format="json")

    assert alice_api.delete(url(svc)).status_code == 204
    assert alice_api.get(url(svc)).status_code == 404
    assert "autoscaler" not in alice_api.get(f"/api/v1/services/{svc.name}").json()["config"]


def test_a_viewer_reads_but_cannot_write_and_an_outsider_sees_nothing(alice_api, bob_api, charlie_api, svc):
    alice_api.put(url(svc), AUTOSCALER, format="json")
    alice_api.put(url(svc, "cronscaler"), CRON, format="json")

    assert bob_api.get(url(svc)).status_code == 200
    assert bob_api.get(url(svc, "cronscaler")).status_code == 200
    assert bob_api.put(url(svc), AUTOSCALER, format="json").status_code == 403
    assert bob_api.delete(url(svc, "cronscaler")).status_code == 403
    assert charlie_api.get(url(svc)).status_code == 404
    assert charlie_api.put(url(svc, "cronscaler"), CRON, format="json").status_code == 404


def test_the_cronscaler_round_trips_with_its_jobs_last_runs(alice_api, svc):
    response = alice_api.put(url(svc, "cronscaler"), CRON, format="json")

    assert response.status_code == 200, response.json()
    job = alice_api.get(url(svc, "cronscaler")).json()["ScaleJobs"][0]
    assert job["Name"] == "morning" and job["TimeZone"] == "Asia/Shanghai"
    assert (job["LastProbeTime"], job["State"]) == (None, None)
    assert Event.objects.filter(service=svc, reason="CronscalerChanged").exists()


def test_a_cronscaler_with_a_five_field_schedule_is_refused(alice_api, svc):
    body = {"ScaleJobs": [{"Name": "m", "Schedule": "0 8 * * *", "TargetSize": 1}]}

    response = alice_api.put(url(svc, "cronscaler"), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "ScaleJobs[0].Schedule"


def test_the_openapi_schema_documents_both_endpoints(alice_api):
    import yaml

    response = alice_api.get("/api/v1/openapi.json?format=json")
    paths = (
        json.loads(response.content) if response.content.lstrip().startswith(b"{") else yaml.safe_load(response.content)
    )["paths"]

    assert {"get", "put", "delete"} <= set(paths["/api/v1/services/{name}/autoscaler"])
    assert {"get", "put", "delete"} <= set(paths["/api/v1/services/{name}/cronscaler"])


# --- the CLI ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_berth_autoscale_sets_changes_shows_and_deletes(berth, alice, flask_config, scaler_redis):
    service = running_service(alice, flask_config, instance=2)

    result = berth("autoscale", service.name, "-Dmin=2", "-Dmax=5", "-Dstrategies.qps=10")
    assert result.returncode == 0, result.stderr
    assert "MaxReplica" in result.stdout and "qps=10" in result.stdout

    result = berth("autoscale", service.name, "-Dmax=8", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout.split("\n", 1)[1])
    assert (body["min"], body["max"]) == (2, 8)

    desc = berth("desc", service.name)
    assert "Autoscaler.MaxReplica" in desc.stdout and "| 8" in desc.stdout

    result = berth("autoscale", service.name, "--delete")
    assert result.returncode == 0 and "removed" in result.stdout
    assert berth("autoscale", service.name).returncode != 0


@pytest.mark.django_db(transaction=True)
def test_berth_cronscale_sets_from_a_file_and_lists_the_jobs(berth, alice, flask_config, scaler_redis, tmp_path):
    service = running_service(alice, flask_config, instance=2)
    (tmp_path / "cron.json").write_text(json.dumps(CRON))

    result = berth("cronscale", service.name, "-s", tmp_path / "cron.json")

    assert result.returncode == 0, result.stderr
    assert "morning" in result.stdout and "0 0 8 * * *" in result.stdout and "Asia/Shanghai" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ScaleJobs": [{"Name": "m", "Schedule": "0 8 * * *", "TargetSize": 1}]}))
    result = berth("cronscale", service.name, "-s", bad)
    assert result.returncode != 0 and "ScaleJobs[0].Schedule" in result.stderr + result.stdout
