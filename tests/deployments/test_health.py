"""Heartbeats of Berth's own processes and /healthz?full=1, against a real redis-server.

The full picture (every process really beating, a killed one going stale) is in tests/test_make_run.py;
these cover the rules: freshness, rate limiting, a dead Redis, the status code, access.
"""

import json
import time

import pytest
import redis

from deployments import health, heartbeats
from tests import stack

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def redis_url():
    proc, url = stack.start_redis()
    yield url
    stack.stop(proc)


@pytest.fixture
def beats(redis_url, settings):
    """A clean Redis for heartbeats, one-second beats, stale after 3 s."""
    settings.REDIS_URL = redis_url
    settings.CELERY_BROKER_URL = redis_url
    settings.BERTH_HEARTBEAT_INTERVAL = 1
    settings.BERTH_HEARTBEAT_STALE = 3
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    heartbeats._last_beat.clear()
    return client


def age(client, name: str, seconds: float) -> None:
    client.set(heartbeats.KEY.format(name), json.dumps({"at": time.time() - seconds, "pid": 1, "host": "h"}))


def test_a_beat_is_fresh_and_a_process_that_never_beat_is_not(beats):
    heartbeats.beat("prober")
    found = heartbeats.heartbeats(["prober", "gateway"])
    assert found["prober"]["fresh"] and found["prober"]["age_seconds"] < 1
    assert found["gateway"] == {
        "last_heartbeat": None,
        "age_seconds": None,
        "fresh": False,
        "pid": None,
        "host": None,
    }
    assert beats.ttl(heartbeats.KEY.format("prober")) > 3600  # kept long enough to say when it was last seen


def test_a_heartbeat_older_than_the_stale_limit_is_not_fresh(beats):
    age(beats, "beat", 2)
    age(beats, "worker", 5)
    found = heartbeats.heartbeats(["beat", "worker"])
    assert found["beat"]["fresh"] is True
    assert found["worker"]["fresh"] is False and found["worker"]["age_seconds"] >= 5


def test_beats_write_at_most_once_per_interval(beats):
    heartbeats.beat("prober")
    beats.delete(heartbeats.KEY.format("prober"))
    heartbeats.beat("prober")  # within the interval: no write
    assert beats.get(heartbeats.KEY.format("prober")) is None
    time.sleep(1.05)
    heartbeats.beat("prober")
    assert beats.get(heartbeats.KEY.format("prober")) is not None


def test_a_dead_redis_neither_raises_nor_stalls_the_loop(beats, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{stack.free_port()}/0"
    started = time.monotonic()
    heartbeats.beat("prober", force=True)
    assert time.monotonic() - started < 2
    report = health.report(expected=["prober"])
    assert report["ok"] is False
    assert report["redis"]["ok"] is False and "prober: no fresh heartbeat" in report["problems"]


@pytest.mark.django_db
def test_healthz_full_is_503_naming_the_stale_process_and_plain_healthz_stays_200(beats, client):
    for name in ("worker", "beat", "gateway"):
        heartbeats.beat(name)
    age(beats, "prober", 30)
    response = client.get("/healthz?full=1")
    assert response.status_code == 503
    report = response.json()
    assert report["processes"]["prober"]["fresh"] is False
    assert all(report["processes"][name]["fresh"] for name in ("worker", "beat", "gateway"))
    assert "prober: no fresh heartbeat" in report["problems"]
    assert report["redis"]["ok"] and report["database"]["ok"] and report["queue"] == {"ok": True, "depth": 0}
    # No HAProxy runs in this test: the gateway check says so, without hanging.
    assert report["gateway"]["ok"] is False
    assert client.get("/healthz").json() == {"ok": True}


@pytest.mark.django_db
def test_the_queue_depth_counts_waiting_tasks(beats, client):
    beats.rpush("celery", "a", "b", "c")
    assert client.get("/healthz?full=1").json()["queue"] == {"ok": True, "depth": 3}


@pytest.mark.django_db
def test_healthz_full_needs_the_metrics_token_when_one_is_set(beats, client, admin_client, settings):
    settings.BERTH_METRICS_TOKEN = "s3cret-token"
    assert client.get("/healthz?full=1").status_code == 401
    assert client.get("/healthz?full=1", headers={"Authorization": "Bearer s3cret-token"}).status_code == 503
    assert admin_client.get("/healthz?full=1").status_code == 503  # staff sessions need no token


@pytest.mark.django_db
def test_the_dashboard_card_shows_each_process_to_staff_only(beats, client, admin_client, alice):
    heartbeats.beat("worker")
    age(beats, "prober", 30)
    dashboard = admin_client.get("/dashboard/").content.decode()
    assert 'id="berth-health"' in dashboard and 'hx-get="/healthz?full=1"' in dashboard
    card = admin_client.get("/healthz?full=1", headers={"HX-Request": "true"})
    assert card.status_code == 200  # htmx swaps only 2xx: the card itself says "unhealthy"
    body = card.content.decode()
    assert "unhealthy" in body
    assert 'id="health-worker"' in body and "fresh" in body
    assert 'id="health-prober"' in body and "stale: not seen within 3 s" in body
    assert 'id="health-gateway"' in body and "never" in body
    client.force_login(alice)
    assert client.get("/healthz?full=1", headers={"HX-Request": "true"}).status_code == 403
