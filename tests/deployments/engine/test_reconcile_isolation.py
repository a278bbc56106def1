"""One service whose convergence raises must not stop reconcile from healing the others.

Driven against the in-memory runtime (tests/fakes.py) with a real Redis for the service locks.
"""

import pytest
from django.conf import settings

from deployments import locks
from deployments.actions.services import service_create
from deployments.choices import EventType, HostStatus, InstanceStatus, ServiceStatus
from deployments.engine.converge import converge_step
from deployments.engine.hosts import runtimes_from
from deployments.engine.reconcile import reconcile_pass
from deployments.models import DockerHost, Event, Instance, Service
from tests import stack
from tests.fakes import FakeRuntime

pytestmark = pytest.mark.django_db


class PoisonedRuntime(FakeRuntime):
    """Starting any container of the `poisoned` service raises an error no layer expects."""

    def start(self, spec):
        if spec.labels.get("berth.service") == "a_poisoned":
            raise KeyError("containers")
        return super().start(spec)


@pytest.fixture(scope="module")
def redis_url():
    proc, url = stack.start_redis()
    yield url
    stack.stop(proc)


@pytest.fixture
def real_locks(redis_url, settings):
    settings.REDIS_URL = redis_url
    locks._redis = None
    yield
    locks._redis = None


@pytest.fixture
def runtime():
    fake = PoisonedRuntime()
    with runtimes_from(lambda host: fake):
        yield fake


@pytest.fixture
def host(db):
    return DockerHost.objects.create(
        name="fake", url="unix:///fake.sock", address="127.0.0.1", status=HostStatus.READY, cpus=8, memory_mb=16384
    )


def config(name: str) -> dict:
    return {
        "name": name,
        "containers": [{"image": "example.com/app:1", "command": "serve", "port": 8000}],
        "metadata": {"instance": 1, "cpu": 1, "memory": 256},
    }


def test_a_service_whose_convergence_raises_does_not_stop_another_from_being_healed(
    alice, team, host, runtime, real_locks
):
    poisoned, _ = service_create(actor=alice, workspace=team, config=config("a_poisoned"))
    healthy, _ = service_create(actor=alice, workspace=team, config=config("b_healthy"))
    converge_step(Service.objects.get(pk=healthy.pk))
    Instance.objects.filter(service=healthy).update(ready=True, started=True)
    converge_step(Service.objects.get(pk=healthy.pk))
    assert Service.objects.get(pk=healthy.pk).status == ServiceStatus.RUNNING
    # Another tenant's container disappears (docker rm, a host reboot...).
    lost = Instance.objects.get(service=healthy)
    runtime.remove(lost.container_id)

    stats = reconcile_pass()

    # The poisoned service came first in the pass (services are ordered by name), yet the healthy
    # one got a fresh container in the same pass.
    recreated = Instance.objects.get(service=healthy)
    assert recreated.pk != lost.pk and recreated.status == InstanceStatus.RUNNING
    assert any(c.state.labels["berth.instance"] == recreated.name for c in runtime.containers.values())
    assert stats["errors"] == 1
    # The poisoned service says what went wrong, as a sentence rather than a traceback.
    warning = Event.objects.filter(service=poisoned, reason="ReconcileError").get()
    assert warning.type == EventType.WARNING
    assert "Traceback" not in warning.message and "KeyError" in warning.message


def test_a_repeated_reconcile_error_is_recorded_once_not_at_every_pass(alice, team, host, runtime, real_locks):
    poisoned, _ = service_create(actor=alice, workspace=team, config=config("a_poisoned"))
    reconcile_pass()
    reconcile_pass()
    assert Event.objects.filter(service=poisoned, reason="ReconcileError").count() == 1


def test_a_host_whose_listing_raises_does_not_stop_the_other_hosts(alice, team, host, real_locks):
    class BrokenHost(FakeRuntime):
        def list(self, labels):
            raise ValueError("malformed answer from the engine")

    healthy_runtime, broken_runtime = FakeRuntime(), BrokenHost(cpus=0, memory_bytes=0)
    broken = DockerHost.objects.create(
        name="a_broken", url="unix:///broken.sock", address="127.0.0.2", status=HostStatus.READY, cpus=1, memory_mb=1
    )
    with runtimes_from(lambda h: broken_runtime if h.pk == broken.pk else healthy_runtime):
        service, _ = service_create(actor=alice, workspace=team, config=config("b_healthy"))
        stats = reconcile_pass()
    assert Instance.objects.filter(service=service, host=host, status=InstanceStatus.RUNNING).count() == 1
    assert stats["hosts"] >= 1 and settings.BERTH_INSTALLATION
