"""While Redis or the worker is down, the API and the service page still answer and say the deploy is queued.

Real Redis (or a port where none answers); the deploy's task is never sent (the test transaction
never commits), so its Deployment stays queued, as when the broker was down at enqueue time.
"""

import pytest

from deployments import heartbeats
from deployments.queued import REDIS_DOWN, WORKER_DOWN
from tests import stack

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_service(alice_api, team, flask_config):
    answer = alice_api.post("/api/v1/services", {**flask_config, "name": "queued_svc"}, format="json")
    assert answer.status_code == 201, answer.json()
    return "queued_svc"


def detail(client, name):
    answer = client.get(f"/api/v1/services/{name}")
    assert answer.status_code == 200
    return answer.json()["deployment"]


def test_with_redis_down_the_api_and_the_page_answer_and_say_the_deploy_waits_for_redis(
    settings, alice_api, queued_service, client, alice
):
    settings.REDIS_URL = f"redis://127.0.0.1:{stack.free_port()}/0"  # nothing listens there
    deployment = detail(alice_api, queued_service)
    assert deployment["status"] == "queued" and deployment["queued"] == REDIS_DOWN
    client.force_login(alice)
    page = client.get(f"/services/{queued_service}/")
    assert page.status_code == 200 and REDIS_DOWN in page.content.decode()


@pytest.mark.redis
def test_with_no_worker_heartbeat_the_api_says_the_worker_is_not_running_and_stops_once_it_beats(
    settings, alice_api, queued_service
):
    proc, url = stack.start_redis()
    try:
        settings.REDIS_URL = url
        settings.BERTH_HEARTBEAT_STALE = 3
        assert detail(alice_api, queued_service)["queued"] == WORKER_DOWN
        heartbeats.beat("worker", force=True)
        assert "queued" not in detail(alice_api, queued_service)
    finally:
        stack.stop(proc)
