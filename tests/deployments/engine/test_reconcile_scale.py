"""Reconcile at scale: a constant number of queries per pass, and no host holding up the others.

Driven against the in-memory runtime (tests/fakes.py); the 1,000-service timing against a real
dockerd is `benchmarks/deploy.py --reconcile 1000` (no timing asserts here: the machine is shared).
"""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments import locks
from deployments.actions.services import service_create
from deployments.choices import HostStatus, InstanceStatus, ServiceStatus
from deployments.engine.converge import converge_step
from deployments.engine.hosts import runtimes_from
from deployments.engine.reconcile import reconcile_pass
from deployments.models import DockerHost, Instance, Service
from tests import stack
from tests.fakes import FakeRuntime

pytestmark = pytest.mark.django_db


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


def config(name: str, instance: int = 2) -> dict:
    return {
        "name": name,
        "containers": [{"image": "example.com/app:1", "command": "serve", "port": 8000}],
        "metadata": {"instance": instance, "cpu": 1, "memory": 1},
    }


def make_host(name: str, address: str) -> DockerHost:
    return DockerHost.objects.create(
        name=name, url=f"unix:///{name}.sock", address=address, status=HostStatus.READY, cpus=64, memory_mb=1 << 20
    )


def running_services(alice, team, count: int, start: int = 0) -> None:
    """`count` services with 2 ready instances each, Running, as the engine leaves them."""
    for n in range(start, start + count):
        service, _ = service_create(actor=alice, workspace=team, config=config(f"s{n:04d}"))
        converge_step(Service.objects.get(pk=service.pk))
        Instance.objects.filter(service=service).update(ready=True, started=True)
        converge_step(Service.objects.get(pk=service.pk))


def queries_of_one_pass() -> int:
    with CaptureQueriesContext(connection) as captured:
        stats = reconcile_pass()
    assert stats["errors"] == 0 and stats["converged"] == 0
    return len(captured.captured_queries)


def test_a_reconcile_pass_makes_as_many_queries_over_100_services_as_over_10(alice, team):
    runtime = FakeRuntime(cpus=1024, memory_bytes=1 << 40)
    make_host("fake", "127.0.0.1")
    with runtimes_from(lambda host: runtime):
        running_services(alice, team, 10)
        assert Service.objects.filter(status=ServiceStatus.RUNNING).count() == 10
        at_10 = queries_of_one_pass()
        running_services(alice, team, 90, start=10)
        assert Instance.objects.filter(status=InstanceStatus.RUNNING, ready=True).count() == 200
        at_100 = queries_of_one_pass()
    assert at_100 == at_10, f"{at_10} queries at 10 services, {at_100} at 100"
    assert at_10 <= 12


def test_a_crashed_instance_costs_its_own_queries_and_leaves_the_pass_count_bounded(alice, team):
    runtime = FakeRuntime(cpus=1024, memory_bytes=1 << 40)
    make_host("fake", "127.0.0.1")
    with runtimes_from(lambda host: runtime):
        running_services(alice, team, 10)
        baseline = queries_of_one_pass()
        crashed = Instance.objects.filter(service__name="s0003").first()
        runtime.stop(crashed.container_id, grace_seconds=0)
        with CaptureQueriesContext(connection) as captured:
            reconcile_pass()
    # The crash is recorded (Failed, back-off) at a cost independent of the number of services.
    crashed.refresh_from_db()
    assert crashed.status == InstanceStatus.FAILED and crashed.reason == "CrashLoopBackOff"
    assert len(captured.captured_queries) <= baseline + 10


def test_a_host_that_hangs_does_not_keep_the_pass_from_healing_the_other_host(alice, team, settings, real_locks):
    settings.BERTH_RECONCILE_HOST_TIMEOUT = 0.5
    release = threading.Event()

    class HungRuntime(FakeRuntime):
        def list(self, labels):
            release.wait(30)
            return super().list(labels)

    healthy_runtime, hung_runtime = FakeRuntime(), HungRuntime(cpus=0, memory_bytes=0)
    healthy = make_host("a_healthy", "127.0.0.1")
    hung = make_host("b_hung", "127.0.0.2")
    DockerHost.objects.filter(pk=hung.pk).update(cpus=0, memory_mb=0)  # nothing is placed there
    try:
        with runtimes_from(lambda h: hung_runtime if h.pk == hung.pk else healthy_runtime):
            running_services(alice, team, 1)
            lost = Instance.objects.filter(host=healthy).first()
            healthy_runtime.remove(lost.container_id)
            stats = reconcile_pass()
            # A second pass while the hung call is still out neither waits for it nor piles up another.
            second = reconcile_pass()
    finally:
        release.set()
    assert not Instance.objects.filter(pk=lost.pk).exists()  # forgotten, so convergence recreates it
    assert Instance.objects.filter(host=healthy, status=InstanceStatus.RUNNING).count() == 2
    assert stats["hosts"] == 1 and second["hosts"] == 1
    hung.refresh_from_db()
    assert hung.status == HostStatus.UNREACHABLE
    assert "did not answer within 0.5s" in hung.message or "earlier pass" in hung.message
