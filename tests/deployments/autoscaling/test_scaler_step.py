"""The autoscaler's actor, step by step, with a fake clock and fake metrics (real DB and Redis)."""

from datetime import datetime, timedelta, timezone

import pytest

from deployments.actions import scaler_step as actor
from deployments.actions.autoscaling import cronscaler_describe
from deployments.autoscaling.decide import Observation
from deployments.choices import ServiceStatus
from deployments.models import Deployment, Event, Service
from tests.deployments.autoscaling.conftest import running_service

T0 = datetime(2026, 3, 2, 7, 59, 0, tzinfo=timezone.utc)  # a Monday


def load(total_qps: float):
    """An observe() that reports `total_qps` requests per second for the whole service."""
    return lambda service, policy, current: Observation(current, {"qps": [total_qps]}, requests=total_qps)


def step(service: Service, at: datetime, qps: float):
    service.refresh_from_db()
    return actor.scaler_step(service=service, now=at, observe=load(qps))


@pytest.fixture
def scaled(alice, flask_config, scaler_redis):
    config = {**flask_config, "autoscaler": {"min": 1, "max": 10, "strategies": {"qps": 10}}}
    return running_service(alice, config, instance=2)


def test_it_scales_up_with_the_numbers_in_the_event(scaled):
    decision = step(scaled, T0, 46.2)

    scaled.refresh_from_db()
    assert decision.desired == 5 and scaled.instance == 5
    assert scaled.status == ServiceStatus.SCALING
    event = Event.objects.get(service=scaled, reason="Autoscaled")
    assert event.message == "qps 23.1 per instance > target 10: 2 → 5"
    assert event.actor == "autoscaler"
    assert Deployment.objects.filter(service=scaled, kind="scale").count() == 1


def test_it_stays_within_the_tolerance(scaled):
    step(scaled, T0, 21.0)

    scaled.refresh_from_db()
    assert scaled.instance == 2
    assert not Event.objects.filter(service=scaled, reason="Autoscaled").exists()


@pytest.mark.parametrize("status", [ServiceStatus.UPDATING, ServiceStatus.CREATING, ServiceStatus.STOPPED])
def test_it_never_scales_during_a_rollout_or_a_stop(scaled, status):
    Service.objects.filter(pk=scaled.pk).update(status=status)

    step(scaled, T0, 100.0)

    scaled.refresh_from_db()
    assert scaled.instance == 2 and scaled.status == status


def test_it_scales_down_only_after_the_scale_down_window(scaled):
    step(scaled, T0, 46.2)  # 2 → 5
    Service.objects.filter(pk=scaled.pk).update(status=ServiceStatus.RUNNING)

    step(scaled, T0 + timedelta(seconds=60), 5.0)
    scaled.refresh_from_db()
    assert scaled.instance == 5  # the 300 s window still holds the busy minute's recommendation

    step(scaled, T0 + timedelta(seconds=301), 5.0)
    scaled.refresh_from_db()
    assert scaled.instance == 1
    assert Event.objects.filter(service=scaled, reason="Autoscaled").latest("pk").message.endswith("5 → 1")


def test_a_manual_scale_is_overridden_at_the_next_step(scaled):
    Service.objects.filter(pk=scaled.pk).update(instance=8)

    step(scaled, T0, 20.0)

    scaled.refresh_from_db()
    assert scaled.instance == 2


def test_it_keeps_state_between_steps_in_redis(scaled, scaler_redis):
    step(scaled, T0, 21.0)

    assert actor.state_load(scaled.pk).recommendations == ((T0.timestamp(), 2),)
    assert actor.scaler_history(scaled.pk)[-1]["metrics"] == {"qps": 10.5}


def test_a_step_with_no_metrics_changes_nothing(scaled):
    actor.scaler_step(service=scaled, now=T0, observe=lambda s, p, c: Observation(c))

    scaled.refresh_from_db()
    assert scaled.instance == 2


# --- cron ---------------------------------------------------------------------------------------

CRON = {
    "ScaleJobs": [
        {"Name": "morning", "Schedule": "0 0 8 * * *", "TargetSize": 6},
        {"Name": "evening", "Schedule": "0 0 20 * * *", "TargetSize": 1},
    ],
    "ExcludeDates": ["* * * * * 6,0"],  # weekends
}


@pytest.fixture
def cron_only(alice, flask_config, scaler_redis):
    service = running_service(alice, {**flask_config, "cronscaler": CRON}, instance=2)
    # The cronscaler counts from when it was set: pretend that was just before T0.
    service.scaler.__class__.objects.filter(service=service).update(cronscaler_since=T0, cron_checked_at=T0)
    return service


def test_a_cron_job_sets_the_count_when_it_fires_and_records_its_run(cron_only):
    step(cron_only, T0 + timedelta(seconds=30), 0)
    cron_only.refresh_from_db()
    assert cron_only.instance == 2  # 07:59:30: nothing due yet

    step(cron_only, T0 + timedelta(seconds=61), 0)

    cron_only.refresh_from_db()
    assert cron_only.instance == 6
    event = Event.objects.get(service=cron_only, reason="CronScaled")
    assert event.message == "cron job 'morning' sets 6: 2 → 6"
    job = cronscaler_describe(service=cron_only)["ScaleJobs"][0]
    assert (job["Name"], job["State"], job["LastProbeTime"]) == ("morning", "success", "2026-03-02T08:00:00+00:00")


def test_a_cron_job_does_not_fire_on_an_excluded_date(cron_only):
    saturday = T0 + timedelta(days=5)
    cron_only.scaler.__class__.objects.filter(service=cron_only).update(cron_checked_at=saturday)

    step(cron_only, saturday + timedelta(seconds=61), 0)

    cron_only.refresh_from_db()
    assert cron_only.instance == 2
    assert cronscaler_describe(service=cron_only)["ScaleJobs"][0]["State"] is None
    assert not Event.objects.filter(service=cron_only, reason__in=["CronScaled", "CronJob"]).exists()


def test_a_cron_job_during_a_rollout_is_recorded_as_a_failure(cron_only):
    Service.objects.filter(pk=cron_only.pk).update(status=ServiceStatus.UPDATING)

    step(cron_only, T0 + timedelta(seconds=61), 0)

    cron_only.refresh_from_db()
    assert cron_only.instance == 2
    job = cronscaler_describe(service=cron_only)["ScaleJobs"][0]
    assert job["State"] == "failure" and "Updating" in job["Message"]


def test_a_cron_floor_raises_the_autoscalers_min(alice, flask_config, scaler_redis):
    config = {**flask_config, "autoscaler": {"min": 1, "max": 4, "strategies": {"qps": 10}}, "cronscaler": CRON}
    service = running_service(alice, config, instance=2)
    service.scaler.__class__.objects.filter(service=service).update(cronscaler_since=T0, cron_checked_at=T0)

    decision = step(service, T0 + timedelta(seconds=61), 20.0)

    service.refresh_from_db()
    assert service.instance == 6 and decision.high == 6
    assert "floor 6 from cron job 'morning'" in Event.objects.get(service=service, reason="Autoscaled").message
