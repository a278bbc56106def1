"""The whole loop, for real: load through HAProxy → rates in Redis → the beat task → a scale → the gateway."""

import time

import pytest

from deployments.actions import autoscaling
from deployments.models import Event, Instance, Service
from tests.deployments.autoscaling.load import PacedLoad
from tests.fixtures_gateway import deploy, echo_config
from tests.stack import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis]


def ready_instances(service) -> int:
    return Instance.objects.filter(service=service, ready=True).count()


def test_a_step_load_grows_the_service_and_it_shrinks_back_without_failed_requests(
    local_host, gateway, python_image_tag, alice
):
    service = deploy(alice, echo_config("autoscaled", python_image_tag, instance=1), gateway)
    autoscaling.autoscaler_set(
        actor=alice,
        service=service,
        body={
            "min": 1,
            "max": 3,
            "scaleStrategies": [{"metricName": "qps", "threshold": 4}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 4}},
        },
    )
    path = f"/api/predict/{service.name}/"
    with PacedLoad(gateway.http_port, path, service.token, qps=12, limit=90) as load:
        # 12 requests/s on one instance against a target of 4 per instance: ceil(1 × 12 / 4) = 3.
        wait_for(lambda: ready_instances(service) == 3, timeout=40, interval=0.5, what="3 ready instances")
        grown = Event.objects.filter(service=service, reason="Autoscaled").first()
        assert grown is not None and "> target 4" in grown.message and grown.actor == "autoscaler"
        load.set_rate(1)  # 1 request/s over 3 instances is far below target: back to min 1 after the 4 s window
        wait_for(
            lambda: Service.objects.get(pk=service.pk).instance == 1 and ready_instances(service) == 1,
            timeout=40,
            interval=0.5,
            what="back to 1 instance",
        )
        time.sleep(2)  # requests keep flowing while the removed instances drain
    assert load.failures == []
    assert load.ok > 50
    assert Event.objects.filter(service=service, reason="Autoscaled", message__contains="→ 1").exists()


def test_a_cron_job_a_few_seconds_ahead_changes_the_count(local_host, gateway, python_image_tag, alice):
    from datetime import datetime, timedelta, timezone

    service = deploy(alice, echo_config("cronscaled", python_image_tag, instance=1), gateway)
    at = datetime.now(timezone.utc) + timedelta(seconds=6)
    schedule = f"{at.second} {at.minute} {at.hour} * * *"  # 6 fields, seconds first: once, a few seconds from now
    autoscaling.cronscaler_set(
        actor=alice, service=service, body={"ScaleJobs": [{"Name": "soon", "Schedule": schedule, "TargetSize": 2}]}
    )

    wait_for(lambda: ready_instances(service) == 2, timeout=40, interval=0.5, what="the cron job's 2 instances")

    job = autoscaling.cronscaler_describe(service=service)["ScaleJobs"][0]
    assert job["State"] == "success"
    assert datetime.fromisoformat(job["LastProbeTime"]) == at.replace(microsecond=0)
    assert Event.objects.filter(service=service, reason="CronScaled", actor="autoscaler").exists()
