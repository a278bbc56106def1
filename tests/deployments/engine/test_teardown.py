"""engine/teardown.py against the in-memory runtime: a batch stops side by side, failures stay local."""

import time

import pytest

from deployments.actions.services import service_create
from deployments.choices import HostStatus, InstanceStatus
from deployments.engine.converge import converge_step
from deployments.engine.hosts import runtimes_from
from deployments.engine.teardown import instances_remove
from deployments.models import DockerHost, Instance, Service
from deployments.runtime import RuntimeFailure
from tests.fakes import FakeRuntime

pytestmark = pytest.mark.django_db


class SlowStops(FakeRuntime):
    """Every stop waits out the whole grace period, as a process that ignores SIGTERM makes it."""

    def __init__(self, *, failing: str = ""):
        super().__init__()
        self.failing = failing

    def stop(self, container, *, grace_seconds):
        time.sleep(grace_seconds)
        if self.failing and self._find(container).state.name == self.failing:
            raise RuntimeFailure("stopping it failed: the engine timed out")
        super().stop(container, grace_seconds=grace_seconds)


def running_instances(alice, team, runtime, count: int) -> list[Instance]:
    DockerHost.objects.create(
        name="fake", url="unix:///fake.sock", address="127.0.0.1", status=HostStatus.READY, cpus=64, memory_mb=65536
    )
    config = {
        "name": "batch",
        "containers": [{"image": "example.com/app:1", "command": "serve", "port": 8000}],
        "metadata": {"instance": count, "cpu": 1, "memory": 64},
    }
    service, _ = service_create(actor=alice, workspace=team, config=config)
    converge_step(Service.objects.get(pk=service.pk))
    return list(Instance.objects.filter(service=service).select_related("host"))


def test_a_batch_of_instances_stops_within_one_grace_period_not_one_per_instance(alice, team):
    runtime = SlowStops()
    with runtimes_from(lambda host: runtime):
        instances = running_instances(alice, team, runtime, 6)
        began = time.monotonic()
        instances_remove(removals=[(i, 1) for i in instances])
        took = time.monotonic() - began
    assert took < 3, f"6 stops of 1 s took {took:.1f}s"
    assert sorted(runtime.stopped) == sorted(i.name for i in instances)
    assert not Instance.objects.exists() and not runtime.containers


def test_one_failed_stop_does_not_keep_the_others_rows(alice, team):
    runtime = SlowStops(failing="berth-batch-v1-1")
    with runtimes_from(lambda host: runtime):
        instances = running_instances(alice, team, runtime, 3)
        with pytest.raises(RuntimeFailure):
            instances_remove(removals=[(i, 0) for i in instances])
    left = Instance.objects.get()
    assert left.name == "berth-batch-v1-1" and left.status == InstanceStatus.TERMINATING
