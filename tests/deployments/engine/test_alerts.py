"""Alerts: trouble becomes one incident, each channel hears once per incident, failures are retried.

Deliveries go to a real HTTP server on loopback (webhooks) and Django's test mail outbox (e-mail).
"""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from deployments.actions.alerts import alert_channel_create, alert_channel_test
from deployments.actions.services import service_create
from deployments.choices import HostStatus
from deployments.engine import hosts
from deployments.engine.alerts import alerts_dispatch_pass
from deployments.events import event_record
from deployments.models import AlertDelivery, DockerHost, Instance
from deployments.runtime import HostUnreachable
from tests.conftest import FLASK_CONFIG
from tests.fakes import FakeRuntime

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook endpoint: records every JSON body; answers `status`."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def service(alice, team):
    created, _ = service_create(actor=alice, workspace=team, config=dict(FLASK_CONFIG), deploy=False)
    alerts_dispatch_pass()  # the first pass only places the cursor: history is not replayed
    return created


def trouble(service, reason="RolloutFailed", message="version 2 failed: exited with code 3"):
    event_record(service=service, reason=reason, message=message, warning=True)


def test_a_failed_rollout_reaches_a_webhook_once_per_incident(alice, team, service, receiver):
    alert_channel_create(actor=alice, workspace=team, name="hook", kind="webhook", url=receiver.url)
    trouble(service)
    trouble(service)  # the same incident: no second alert
    alerts_dispatch_pass()
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["kind"] == "rollout_failed" and body["service"] == service.name
    assert body["url"].endswith(f"/services/{service.name}/")
    assert "exited with code 3" in body["message"]
    event_record(service=service, reason="Running", message="2 of 2 instances ready")
    trouble(service)  # a new incident after the service ran again
    alerts_dispatch_pass()
    assert len(receiver.bodies) == 2


def test_history_is_not_replayed_when_alerts_start(alice, team, receiver):
    created, _ = service_create(actor=alice, workspace=team, config=dict(FLASK_CONFIG), deploy=False)
    trouble(created)
    alert_channel_create(actor=alice, workspace=team, name="hook", kind="webhook", url=receiver.url)
    alerts_dispatch_pass()
    alerts_dispatch_pass()
    assert receiver.bodies == []


def test_normal_events_and_other_workspaces_channels_stay_quiet(alice, team, charlie, service, receiver):
    other = charlie.memberships.first().workspace
    alert_channel_create(actor=charlie, workspace=other, name="hook", kind="webhook", url=receiver.url)
    event_record(service=service, reason="Restarted", message="restarted by a person")  # not a warning
    trouble(service, reason="OOMKilled", message="exited with code 137")
    alerts_dispatch_pass()
    assert receiver.bodies == []


def test_e_mail_channels_get_the_incident_with_a_link(alice, team, service):
    alert_channel_create(
        actor=alice, workspace=team, name="oncall", kind="email", emails="a@example.com, b@example.com"
    )
    trouble(service, reason="OOMKilled", message="flask_demo-v1-0 exited with code 137 (OOMKilled)")
    alerts_dispatch_pass()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["a@example.com", "b@example.com"]
    assert "Out of memory" in mail.outbox[0].subject
    assert f"/services/{service.name}/" in mail.outbox[0].body


def test_a_failed_delivery_is_retried_and_shows_why(alice, team, service, receiver, settings):
    settings.BERTH_ALERT_RETRY_SECONDS = 0
    alert_channel_create(actor=alice, workspace=team, name="hook", kind="webhook", url=receiver.url)
    receiver.status = 500
    trouble(service)
    alerts_dispatch_pass()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "the webhook answered HTTP 500")
    assert "secret-token" not in delivery.last_error
    receiver.status = 200
    AlertDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    alerts_dispatch_pass()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_a_delivery_gives_up_after_five_attempts(alice, team, service, settings):
    settings.BERTH_ALERT_RETRY_SECONDS = 0
    alert_channel_create(actor=alice, workspace=team, name="hook", kind="webhook", url="http://127.0.0.1:9/none")
    trouble(service)
    for _ in range(6):
        AlertDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        alerts_dispatch_pass()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert delivery.last_error.startswith("cannot reach the webhook")


def test_the_test_button_sends_at_once_and_says_how_it_went(alice, team, receiver):
    channel = alert_channel_create(actor=alice, workspace=team, name="hook", kind="webhook", url=receiver.url)
    assert alert_channel_test(actor=alice, channel=channel).status == "sent"
    assert receiver.bodies[0]["kind"] == "test"
    receiver.status = 404
    failed = alert_channel_test(actor=alice, channel=channel)
    assert (failed.status, failed.last_error) == ("pending", "the webhook answered HTTP 404")


def test_a_host_that_stops_answering_alerts_the_services_on_it(alice, team, service, receiver):
    alert_channel_create(actor=alice, workspace=team, name="hook", kind="webhook", url=receiver.url)
    host = DockerHost.objects.create(name="h1", url="unix:///x.sock", address="127.0.0.1", status=HostStatus.READY)
    Instance.objects.create(service=service, version=service.current_version, host=host, name="i0", ordinal=0)

    class Dead(FakeRuntime):
        def info(self):
            raise HostUnreachable("cannot connect to the Docker engine at unix:///x.sock")

    with hosts.runtimes_from(lambda h: Dead()):
        hosts.host_refresh(host=host)
        hosts.host_refresh(host=host)  # still down: said once
    alerts_dispatch_pass()
    assert [b["kind"] for b in receiver.bodies] == ["host_unreachable"]
    assert "h1" in receiver.bodies[0]["message"]


# --- the API and the page ------------------------------------------------------------------------


def test_the_api_adds_lists_tests_and_removes_channels_without_showing_the_url(alice_api, team, receiver):
    base = f"/api/v1/workspaces/{team.slug}/alert-channels"
    created = alice_api.post(base, {"name": "hook", "kind": "webhook", "url": receiver.url}, format="json")
    assert created.status_code == 201
    listed = alice_api.get(base).json()["results"]
    assert [c["name"] for c in listed] == ["hook"]
    assert "secret-token" not in json.dumps(listed)
    assert alice_api.post(f"{base}/hook/test").json()["status"] == "sent"
    deliveries = alice_api.get(f"/api/v1/workspaces/{team.slug}/alert-deliveries").json()["results"]
    assert deliveries[0]["status"] == "sent"
    bad = alice_api.post(base, {"name": "x", "kind": "webhook", "url": "ftp://nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "url"
    assert alice_api.delete(f"{base}/hook").status_code == 204


def test_viewers_read_channels_and_outsiders_see_nothing(alice, team, bob_api, charlie_api, receiver):
    alert_channel_create(actor=alice, workspace=team, name="hook", kind="webhook", url=receiver.url)
    base = f"/api/v1/workspaces/{team.slug}/alert-channels"
    assert bob_api.get(base).status_code == 200
    assert (
        bob_api.post(base, {"name": "b", "kind": "email", "emails": "b@example.com"}, format="json").status_code == 403
    )
    assert bob_api.post(f"{base}/hook/test").status_code == 403
    assert charlie_api.get(base).status_code == 404


def test_the_alerts_page_adds_a_channel_and_sends_a_test(client, alice, team, receiver):
    client.force_login(alice)
    page = f"/workspaces/{team.slug}/alerts/"
    response = client.post(f"{page}-/new", {"name": "hook", "kind": "webhook", "url": receiver.url}, follow=True)
    assert "Send a test to check it arrives" in response.content.decode()
    response = client.post(f"{page}hook/test", follow=True)
    assert "Test alert sent to hook" in response.content.decode()
    assert "secret-token" not in client.get(page).content.decode()
