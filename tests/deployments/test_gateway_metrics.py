"""Traffic metrics: the API, the token reveal, /metrics, and samples of real traffic through the gateway."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deployments.actions.workspaces import workspace_current_ensure
from deployments.gateway.metrics import LogReader, counter_deltas, cpu_memory, percentile
from deployments.models import Service
from deployments.models.gateway import TrafficSample
from tests.fixtures_gateway import deploy, echo_config, http
from tests.stack import wait_for


@pytest.fixture
def service(team, alice):
    return Service.objects.create(name="metered", workspace=team, token="secret-token-1")


def sample(service, *, seconds_ago: float, instance: str = "", requests: int = 10, **fields) -> TrafficSample:
    return TrafficSample.objects.create(
        service=service, instance=instance, at=timezone.now() - timedelta(seconds=seconds_ago), seconds=10,
        requests=requests, responses_2xx=requests - 1, responses_5xx=1, bytes_in=100, bytes_out=1000,
        latency_avg_ms=2.0, latency_p95_ms=5.0, **fields,
    )  # fmt: skip


def test_the_metrics_api_returns_the_window_per_service_and_per_instance(service, alice_api):
    sample(service, seconds_ago=30)
    sample(service, seconds_ago=20, requests=20)
    sample(service, seconds_ago=20, instance="metered-v1-0", requests=20, cpu_percent=12.5, memory_mb=40.0)
    sample(service, seconds_ago=7200)  # outside the hour
    body = alice_api.get(f"/api/v1/services/{service.name}/metrics?minutes=60").json()
    assert body["totals"]["requests"] == 30
    assert body["totals"]["responses"]["5xx"] == 2
    assert [p["qps"] for p in body["series"]] == [1.0, 2.0]
    assert body["series"][0]["latency_ms"]["p95"] == 5.0
    instance = body["instances"]["metered-v1-0"]
    assert instance["series"][0]["cpu_percent"] == 12.5 and instance["series"][0]["memory_mb"] == 40.0
    assert len(alice_api.get(f"/api/v1/services/{service.name}/metrics?minutes=180").json()["series"]) == 3


def test_viewers_read_metrics_outsiders_get_404_and_bad_windows_400(service, bob_api, charlie_api, alice_api):
    assert bob_api.get(f"/api/v1/services/{service.name}/metrics").status_code == 200
    assert charlie_api.get(f"/api/v1/services/{service.name}/metrics").status_code == 404
    assert alice_api.get(f"/api/v1/services/{service.name}/metrics?minutes=0").status_code == 400
    assert alice_api.get(f"/api/v1/services/{service.name}/metrics?minutes=abc").status_code == 400


def test_the_token_is_revealed_to_owners_only(service, alice, bob, charlie):
    for user, status in ((alice, 200), (bob, 404), (charlie, 404)):
        client = Client()
        client.force_login(user)
        response = client.get(f"/services/{service.name}/token", HTTP_HX_REQUEST="true")
        assert response.status_code == status, user
        assert (b"secret-token-1" in response.content) == (status == 200)
    page = Client()
    page.force_login(bob)
    html = page.get(f"/services/{service.name}/gateway").content.decode()
    assert "secret-token-1" not in html and "/api/predict/metered" in html and "curl -H" in html


def test_prometheus_metrics_list_services_and_gateway_traffic(service, settings):
    sample(service, seconds_ago=5)
    settings.BERTH_METRICS_TOKEN = "scrape"
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape").content.decode()
    assert "berth_services{status=" in text and "berth_instances_ready 0" in text
    assert 'berth_gateway_requests_per_second{service="metered"} 1.0' in text
    assert 'berth_gateway_responses{class="5xx",service="metered"} 1' in text
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape").status_code == 200


def test_sampling_helpers_handle_resets_percentiles_docker_stats_and_log_lines(tmp_path):
    assert counter_deltas({"a": 5}, {"a": 8}) == {"a": 3}
    assert counter_deltas({"a": 5}, {"a": 2}) == {"a": 2}  # a reload reset the counters
    assert counter_deltas(None, {"a": 4}) == {"a": 4}  # a server added since the last sample
    assert percentile(list(range(1, 101)), 0.95) == 95.0 and percentile([], 0.5) is None
    cpu, memory = cpu_memory({
        "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000}, "system_cpu_usage": 20_000_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}, "system_cpu_usage": 10_000_000},
        "memory_stats": {"usage": 30 * 1024 * 1024, "stats": {"inactive_file": 10 * 1024 * 1024}},
    })  # fmt: skip
    assert (cpu, memory) == (20.0, 20.0)
    reader = LogReader(tmp_path / "log.sock")
    reader.record("s_svc i3 200 12 512 100")
    reader.record("s_svc <NOSRV> 401 0 100 50")  # answered by HAProxy: no instance latency
    reader.record("s_svc i3 101 60000 0 0")  # a WebSocket's lifetime
    reader.record("berth_unknown <NOSRV> 404 0 0 0")
    assert reader.take() == {("s_svc", "i3"): [12]}
    reader.close()


@pytest.mark.docker
@pytest.mark.redis
def test_requests_through_the_gateway_show_up_in_samples(local_host, alice, python_image_tag, gateway, alice_api):
    service = deploy(alice, echo_config("metered", python_image_tag, instance=2), gateway)
    for _ in range(40):
        assert http(gateway.predict_url(service.name, "/x"), method="POST", body=b"{}", headers={"Authorization": service.token}).status == 200
    for _ in range(3):
        assert http(gateway.predict_url(service.name, "/x")).status == 401

    def counted():
        totals = alice_api.get(f"/api/v1/services/{service.name}/metrics").json()["totals"]
        body = alice_api.get(f"/api/v1/services/{service.name}/metrics").json()
        per_instance = sum(i["totals"]["responses"]["2xx"] for i in body["instances"].values())
        return totals["responses"]["2xx"] >= 40 and totals["responses"]["4xx"] >= 3 and per_instance >= 40 and totals

    totals = wait_for(counted, timeout=15, what="samples with the requests")
    assert totals["latency_avg_ms"] is not None and totals["bytes_in"] > 0
    body = alice_api.get(f"/api/v1/services/{service.name}/metrics").json()
    assert len(body["instances"]) == 2
    assert sum(i["totals"]["responses"]["2xx"] for i in body["instances"].values()) >= 40
    wait_for(
        lambda: any(p["memory_mb"] for i in alice_api.get(f"/api/v1/services/{service.name}/metrics").json()["instances"].values() for p in i["series"]),
        timeout=15, what="memory figures from Docker",
    )  # fmt: skip
    assert workspace_current_ensure(user=alice)
