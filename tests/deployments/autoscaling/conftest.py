"""A real redis-server for the autoscaler's state, and a deployed-looking service (no containers)."""

import pytest
from django.conf import settings

from deployments import locks
from deployments.actions import services, workspaces
from deployments.choices import ServiceStatus
from deployments.models import Service
from tests import stack


@pytest.fixture(scope="module")
def redis_server():
    proc, url = stack.start_redis()
    yield url
    stack.stop(proc)


@pytest.fixture
def scaler_redis(redis_server):
    previous = settings.REDIS_URL
    settings.REDIS_URL, locks._redis = redis_server, None
    locks.redis_client().flushdb()
    yield locks.redis_client()
    settings.REDIS_URL, locks._redis = previous, None


def running_service(user, config: dict, *, instance: int = 2) -> Service:
    """A saved service marked Running with `instance` instances (nothing runs: steps are driven by hand)."""
    config = {**config, "metadata": {**config["metadata"], "instance": instance}}
    service, _ = services.service_create(
        actor=user, workspace=workspaces.workspace_current_ensure(user=user), config=config, deploy=False
    )
    Service.objects.filter(pk=service.pk).update(status=ServiceStatus.RUNNING)
    service.refresh_from_db()
    return service
