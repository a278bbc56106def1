"""The engine's console pages: the live service page, lifecycle buttons, logs, test pull, hosts, dashboard.

Personas: alice owns `team`, bob views it, charlie is outside it; `admin_user` is staff.
Rows (Deployment, Instance, Event, DockerHost) are made directly: no Docker needed. In these
`db` tests on_commit callbacks never run, so lifecycle POSTs enqueue nothing.
"""

import base64
import copy
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from console.views import dashboard, service_page
from deployments import spec
from deployments.actions.services import service_create, service_update
from deployments.choices import (
    DeploymentKind,
    DeploymentStatus,
    EventType,
    HostStatus,
    InstanceStatus,
    ServiceStatus,
)
from deployments.engine import hosts as engine_hosts
from deployments.events import event_record
from deployments.models import Deployment, DockerHost, Event, Instance, Service
from deployments.runtime import HostUnreachable
from tests.conftest import FLASK_CONFIG
from tests.console.test_service_editor import fields_of

pytestmark = pytest.mark.django_db

STATUS_POLL = {"HX-Request": "true", "HX-Target": "service-status"}
RUNTIME_POLL = {"HX-Request": "true", "HX-Target": "service-runtime"}
LOGS = {"HX-Request": "true", "HX-Target": "logs"}
DASHBOARD_TABLE = {"HX-Request": "true", "HX-Target": "dashboard-services"}
AUTH = base64.b64encode(b"bot:registry-pass-123").decode()


@pytest.fixture
def service(alice, team, flask_config):
    """flask_demo, just created: Creating, with its create Deployment queued (2 instances wanted)."""
    created, _ = service_create(actor=alice, workspace=team, config=flask_config)
    return created


@pytest.fixture
def host(db):
    return DockerHost.objects.create(
        name="node-1", url="unix:///var/run/docker.sock", address="10.0.0.5", cpus=8, memory_mb=16384
    )


def add_instance(service, host, ordinal: int, **fields) -> Instance:
    defaults = {
        "status": InstanceStatus.RUNNING, "reason": "Running", "host_port": 32000 + ordinal, "cpu": 1, "memory_mb": 512,
    }  # fmt: skip
    return Instance.objects.create(
        service=service, version=service.current_version, host=host, ordinal=ordinal,
        name=f"berth-{service.name}-v{service.current_version.number}-{ordinal}", **{**defaults, **fields},
    )  # fmt: skip


def set_status(service, status: str, message: str = "") -> None:
    Service.objects.filter(pk=service.pk).update(status=status, message=message)
    service.refresh_from_db()


def page(client, user, service, **extra):
    client.force_login(user)
    return client.get(reverse("service-detail", args=[service.name]), **extra)


class FakeRuntime:
    """Stands in for a Docker host where these tests only need logs and pulls."""

    def __init__(self, *, fail: Exception | None = None):
        self.fail, self.calls = fail, []

    def logs(self, name: str, *, tail, timestamps=False, since=None):
        self.calls.append(("logs", name, tail))
        if self.fail:
            raise self.fail
        count = 300 if tail == "all" else tail
        stamp = "2026-12-01T09:00:00.000000000Z " if timestamps else ""
        return "".join(f"{stamp}{name} line {i}\n" for i in range(count))

    def pull(self, image: str, auth):
        self.calls.append(("pull", image, auth))
        if self.fail:
            raise self.fail
        return "sha256:" + "0" * 64


@pytest.fixture
def runtime(monkeypatch):
    fake = FakeRuntime()
    monkeypatch.setattr(engine_hosts, "host_runtime", lambda host: fake)
    return fake


# --- the service page: status, counts, timeline ----------------------------------------------


def test_the_service_page_shows_eas_counts_and_the_deployments_phase_timeline(client, alice, service, host):
    set_status(service, ServiceStatus.WAITING)
    add_instance(service, host, 0, ready=True)
    add_instance(service, host, 1, ready=False)
    Deployment.objects.filter(service=service).update(status=DeploymentStatus.RUNNING, phase="health")
    body = page(client, alice, service).content.decode()
    assert '<span id="service-counts" class="counts">2 wanted · v1 ready 1, pending 1</span>' in body
    assert '<span class="badge Waiting">Waiting</span>' in body
    timeline = body[body.index('<ol class="timeline"') :][:600]
    for step in ("queued", "pulling", "creating", "starting"):
        assert f'<li class="done">{step}</li>' in timeline
    assert '<li class="current" aria-current="step">health</li>' in timeline
    assert '<li class="todo">running</li>' in timeline


def test_a_failed_deployment_shows_failed_in_red_with_its_message(client, alice, service):
    reason = "image registry.example.com/team/flask-app:1.0 was not found in registry registry.example.com"
    set_status(service, ServiceStatus.FAILED, reason)
    Deployment.objects.filter(service=service).update(status=DeploymentStatus.FAILED, phase="failed", message=reason)
    body = page(client, alice, service).content.decode()
    assert '<li class="failed">failed</li>' in body
    assert f'<p class="error status-message">{reason}</p>' in body
    assert body.count(reason) == 1  # the deployment's message is the service's: said once
    Deployment.objects.filter(service=service).update(message="v1-0 exited with code 3")
    assert '<p class="error">v1-0 exited with code 3</p>' in page(client, alice, service).content.decode()


@pytest.mark.parametrize(
    "kind, status, phase, expected",
    [
        ("create", "queued", "queued", ["current", "todo", "todo", "todo", "todo", "todo"]),
        ("create", "running", "creating", ["done", "done", "current", "todo", "todo", "todo"]),
        ("create", "succeeded", "running", ["done"] * 6),
        ("create", "failed", "failed", ["todo"] * 5 + ["failed"]),
        ("restart", "running", "health", ["done", "done", "current", "todo"]),
        ("stop", "running", "pulling", ["done", "current", "todo"]),
        ("stop", "succeeded", "running", ["done", "done", "done"]),
    ],
)
def test_the_timeline_follows_the_deployments_kind_status_and_phase(kind, status, phase, expected):
    deployment = Deployment(kind=kind, status=status, phase=phase)
    assert [step["state"] for step in service_page.deployment_timeline(deployment)] == expected


def test_a_draft_says_nothing_runs_yet_and_offers_deploy(client, alice, team, flask_config):
    draft, _ = service_create(actor=alice, workspace=team, config=flask_config, deploy=False)
    body = page(client, alice, draft).content.decode()
    assert '<span id="service-counts" class="counts">2 instances once deployed</span>' in body
    assert "NotDeployed [" not in body
    assert "Saved as a draft" in body
    assert f'action="{reverse("service-start", args=[draft.name])}"' in body
    assert ">Deploy</button>" in body
    assert reverse("service-stop", args=[draft.name]) not in body


# --- the service page: instances and events --------------------------------------------------


def test_the_instance_table_shows_host_port_readiness_restarts_and_last_termination(client, alice, service, host):
    add_instance(
        service, host, 0, ready=False, restarts=3, status=InstanceStatus.FAILED, reason="CrashLoopBackOff",
        message="exited with code 137", last_state={"exitCode": 137, "oomKilled": True, "reason": "OOMKilled"},
        started_at=timezone.now(),
    )  # fmt: skip
    add_instance(service, host, 1, ready=True)
    body = page(client, alice, service).content.decode()
    crashed = body[body.index(f'<tr id="instance-berth-{service.name}-v1-0">') :].split("</tr>")[0]
    for text in ("node-1", "10.0.0.5", "32000", "Failed", "CrashLoopBackOff", ">3<", "exit code 137", "OOMKilled",
                 "exited with code 137", '<td class="ready">no</td>'):  # fmt: skip
        assert text in crashed, text
    ready = body[body.index(f'<tr id="instance-berth-{service.name}-v1-1">') :].split("</tr>")[0]
    assert '<td class="ready"><span class="ok">yes</span></td>' in ready
    logs_url = reverse("instance-logs", args=[service.name, f"berth-{service.name}-v1-1"])
    assert f'href="{logs_url}"' in ready


def test_events_are_listed_newest_first_with_warnings_marked(client, alice, service):
    event_record(service=service, reason="Started", message="started instance 0", instance="berth-x-v1-0")
    event_record(service=service, reason="Restarted", message="exited with code 1", warning=True, actor="system")
    body = page(client, alice, service).content.decode()
    events = body[body.index('id="events"') :]
    assert events.index("Restarted") < events.index("Started") < events.index("Creating")
    assert '<tr class="event Warning">' in events
    assert "berth-x-v1-0" in events and ">alice<" in events


def test_the_event_list_stops_at_the_latest_fifty(client, alice, service):
    Event.objects.bulk_create(Event(service=service, reason="Tick", message=f"tick {i:03d}") for i in range(60))
    events = page(client, alice, service).content.decode().split('id="events"')[1]
    assert events.count('<tr class="event') == 50
    assert "the latest 50" in events


# --- polling ---------------------------------------------------------------------------------


def test_the_status_polls_every_second_while_the_service_changes(client, alice, service):
    body = page(client, alice, service).content.decode()
    status = body[body.index('id="service-status"') :][:400]
    assert 'hx-trigger="every 1s"' in status
    response = page(client, alice, service, headers=STATUS_POLL)
    assert response.status_code == 200
    assert "<html" not in response.content.decode() and 'hx-trigger="every 1s"' in response.content.decode()


# The statuses in which nothing is in progress.
SERVICE_TERMINAL = {ServiceStatus.NOT_DEPLOYED, ServiceStatus.RUNNING, ServiceStatus.STOPPED, ServiceStatus.FAILED}


@pytest.mark.parametrize("status", sorted(SERVICE_TERMINAL))
def test_both_polled_regions_answer_286_once_the_status_stays(client, alice, service, status):
    set_status(service, status)
    for headers in (STATUS_POLL, RUNTIME_POLL):
        response = page(client, alice, service, headers=headers)
        assert response.status_code == 286
        assert "hx-trigger" not in response.content.decode()
    # No polling left on the page (one-off hx-trigger="load" fragments are fine).
    assert 'hx-trigger="every' not in page(client, alice, service).content.decode().split('id="logs"')[0]


def test_polling_goes_on_while_a_worker_is_still_finishing_a_stop(client, alice, service):
    set_status(service, ServiceStatus.STOPPED)
    Deployment.objects.filter(service=service).update(kind=DeploymentKind.STOP, status=DeploymentStatus.RUNNING)
    for headers in (STATUS_POLL, RUNTIME_POLL):
        assert page(client, alice, service, headers=headers).status_code == 200
    Deployment.objects.filter(service=service).update(status=DeploymentStatus.SUCCEEDED, phase="running")
    settled = page(client, alice, service, headers=STATUS_POLL)
    assert settled.status_code == 286
    for step in ("queued", "stopping", "stopped"):
        assert f'<li class="done">{step}</li>' in settled.content.decode()


def test_the_runtime_region_shows_the_instance_that_just_became_ready(client, alice, service, host):
    set_status(service, ServiceStatus.WAITING)
    assert "No instances" in page(client, alice, service, headers=RUNTIME_POLL).content.decode()
    add_instance(service, host, 0, ready=True)
    event_record(service=service, reason="Started", message="started it")
    response = page(client, alice, service, headers=RUNTIME_POLL)
    body = response.content.decode()
    assert response.status_code == 200 and 'hx-trigger="every 2s"' in body
    assert '<span class="ok">yes</span>' in body and "Started" in body


def test_a_service_deleted_while_watched_says_so_and_stops_polling(client, alice, service):
    url = reverse("service-detail", args=[service.name])
    client.force_login(alice)
    Service.objects.filter(pk=service.pk).delete()
    status = client.get(url, headers=STATUS_POLL)
    assert status.status_code == 286
    assert "no longer exists" in status.content.decode() and reverse("service-list") in status.content.decode()
    assert client.get(url, headers=RUNTIME_POLL).status_code == 286
    assert client.get(url).status_code == 404


# --- lifecycle buttons and POSTs -------------------------------------------------------------


def test_owners_get_stop_and_restart_with_a_confirm_and_viewers_get_no_buttons(client, alice, bob, service):
    set_status(service, ServiceStatus.RUNNING)
    body = page(client, alice, service).content.decode()
    stop = reverse("service-stop", args=[service.name])
    assert f'action="{stop}" onsubmit="return confirm(this.dataset.confirm)"' in body
    assert f'action="{reverse("service-restart", args=[service.name])}"' in body
    assert reverse("service-start", args=[service.name]) not in body
    viewer = page(client, bob, service).content.decode()
    for action in ("service-stop", "service-start", "service-restart"):
        assert reverse(action, args=[service.name]) not in viewer
    assert reverse("service-rollback", args=[service.name, 1]) not in viewer


def test_alice_stops_a_running_service(client, alice, service):
    set_status(service, ServiceStatus.RUNNING)
    client.force_login(alice)
    response = client.post(reverse("service-stop", args=[service.name]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("service-detail", args=[service.name])
    service.refresh_from_db()
    assert service.status == ServiceStatus.STOPPING
    latest = Deployment.objects.filter(service=service).first()
    assert (latest.kind, latest.status, latest.created_by) == (DeploymentKind.STOP, DeploymentStatus.QUEUED, alice)
    assert f"Stopping {service.name}." in response.content.decode()


def test_stopping_a_stopped_service_says_it_is_already_stopped(client, alice, service):
    set_status(service, ServiceStatus.STOPPED)
    before = Deployment.objects.count()
    client.force_login(alice)
    response = client.post(reverse("service-stop", args=[service.name]), follow=True)
    assert "is already stopped" in response.content.decode()
    assert Deployment.objects.count() == before


def test_alice_starts_a_stopped_service_and_restarts_a_running_one(client, alice, service):
    set_status(service, ServiceStatus.STOPPED)
    client.force_login(alice)
    client.post(reverse("service-start", args=[service.name]))
    service.refresh_from_db()
    assert service.status == ServiceStatus.STARTING
    assert Deployment.objects.filter(service=service).first().kind == DeploymentKind.START
    set_status(service, ServiceStatus.RUNNING)
    client.post(reverse("service-restart", args=[service.name]))
    assert Deployment.objects.filter(service=service).first().kind == DeploymentKind.RESTART


def test_starting_a_service_that_is_creating_is_refused_with_a_message(client, alice, service):
    client.force_login(alice)
    response = client.post(reverse("service-start", args=[service.name]), follow=True)
    assert "only a stopped or failed service can be started" in response.content.decode()


def test_deploying_a_draft_creates_its_first_deployment(client, alice, team, flask_config):
    draft, _ = service_create(actor=alice, workspace=team, config=flask_config, deploy=False)
    client.force_login(alice)
    response = client.post(reverse("service-start", args=[draft.name]), follow=True)
    draft.refresh_from_db()
    assert draft.status == ServiceStatus.CREATING
    assert Deployment.objects.get(service=draft).kind == DeploymentKind.START
    assert f"Deploying {draft.name}." in response.content.decode()


def test_alice_rolls_back_to_an_older_version_from_the_version_history(client, alice, service):
    config = copy.deepcopy(FLASK_CONFIG)
    config["containers"][0]["image"] = "registry.example.com/team/flask-app:2.0"
    service_update(actor=alice, service=service, config=config)
    set_status(service, ServiceStatus.RUNNING)
    body = page(client, alice, service).content.decode()
    rollback = reverse("service-rollback", args=[service.name, 1])
    assert f'action="{rollback}"' in body
    assert reverse("service-rollback", args=[service.name, 2]) not in body  # the current one
    response = client.post(rollback, follow=True)
    service.refresh_from_db()
    assert service.current_version.number == 1 and service.status == ServiceStatus.UPDATING
    assert Deployment.objects.filter(service=service).first().kind == DeploymentKind.ROLLBACK
    assert "Rolling flask_demo back to version 1." in response.content.decode()


def test_rolling_back_to_the_current_version_is_refused_and_an_unknown_one_is_404(client, alice, service):
    client.force_login(alice)
    response = client.post(reverse("service-rollback", args=[service.name, 1]), follow=True)
    assert "already the current version" in response.content.decode()
    assert client.post(reverse("service-rollback", args=[service.name, 9])).status_code == 404


def lifecycle_posts(service) -> list[str]:
    return [
        reverse("service-stop", args=[service.name]),
        reverse("service-start", args=[service.name]),
        reverse("service-restart", args=[service.name]),
        reverse("service-rollback", args=[service.name, 1]),
    ]


def test_bob_gets_403_on_every_lifecycle_post_and_nothing_changes(client, bob, service):
    set_status(service, ServiceStatus.STOPPED)
    before = Deployment.objects.count()
    client.force_login(bob)
    for url in lifecycle_posts(service):
        assert client.post(url).status_code == 403, url
    service.refresh_from_db()
    assert service.status == ServiceStatus.STOPPED and Deployment.objects.count() == before


def test_charlie_gets_404_on_the_service_page_its_logs_and_every_lifecycle_post(client, charlie, service, host):
    instance = add_instance(service, host, 0)
    client.force_login(charlie)
    for url in lifecycle_posts(service):
        assert client.post(url).status_code == 404, url
    for url in (
        reverse("service-detail", args=[service.name]),
        reverse("instance-logs", args=[service.name, instance.name]),
        reverse("instance-logs-download", args=[service.name, instance.name]),
    ):
        assert client.get(url).status_code == 404, url
    assert Service.objects.get(pk=service.pk).status == ServiceStatus.CREATING


def test_lifecycle_urls_only_take_posts_and_visitors_must_log_in(client, alice, service):
    assert client.post(reverse("service-stop", args=[service.name])).status_code == 302
    client.force_login(alice)
    assert client.get(reverse("service-stop", args=[service.name])).status_code == 405


# --- logs ------------------------------------------------------------------------------------


def test_the_logs_show_the_last_200_lines_of_the_instance(client, bob, service, host, runtime):
    instance = add_instance(service, host, 0)
    client.force_login(bob)  # a viewer reads logs, as through the API
    response = client.get(reverse("instance-logs", args=[service.name, instance.name]))
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert runtime.calls == [("logs", instance.name, 200)]
    log_text = body[body.index('<pre class="logs" id="log-text">') :]
    assert f"{instance.name} line 199\n</pre>" in log_text and f"{instance.name} line 0\n" in log_text
    fragment = client.get(reverse("instance-logs", args=[service.name, instance.name]), headers=LOGS).content.decode()
    assert fragment.lstrip().startswith('<section id="logs"')
    assert "hx-trigger" not in fragment


def test_following_logs_rereads_them_every_two_seconds_until_the_instance_is_gone(
    client, alice, service, host, runtime
):
    instance = add_instance(service, host, 0)
    url = reverse("instance-logs", args=[service.name, instance.name])
    client.force_login(alice)
    body = client.get(url, {"follow": "1"}, headers=LOGS).content.decode()
    assert f'hx-get="{url}?tail=200&amp;follow=1" hx-trigger="every 2s"' in body
    assert "following" in body
    instance.delete()
    gone = client.get(url, {"follow": "1"}, headers=LOGS)
    assert gone.status_code == 286 and "is gone" in gone.content.decode()


def test_the_full_logs_download_as_a_log_file(client, alice, service, host, runtime):
    instance = add_instance(service, host, 0)
    client.force_login(alice)
    response = client.get(reverse("instance-logs-download", args=[service.name, instance.name]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{instance.name}.log"'
    assert response.content.decode().count("\n") == 300
    assert runtime.calls == [("logs", instance.name, "all")]


def test_an_unreachable_host_is_explained_instead_of_the_logs(client, alice, service, host, monkeypatch):
    instance = add_instance(service, host, 0)
    failing = FakeRuntime(fail=HostUnreachable("cannot reach the Docker host at unix:///x while trying to read logs"))
    monkeypatch.setattr(engine_hosts, "host_runtime", lambda host: failing)
    client.force_login(alice)
    body = client.get(reverse("instance-logs", args=[service.name, instance.name])).content.decode()
    assert f"Cannot read the logs of {instance.name}: cannot reach the Docker host" in body
    download = client.get(reverse("instance-logs-download", args=[service.name, instance.name]))
    assert download.status_code == 502


# --- the form: draft and test pull -----------------------------------------------------------


def flask_form(client, user) -> dict[str, list[str]]:
    client.force_login(user)
    response = client.post(reverse("service-create"), {"op": "import", "import_text": json.dumps(FLASK_CONFIG)})
    return fields_of(response.content.decode())


def test_the_create_form_offers_save_without_deploying_and_test_pull(client, alice, team):
    client.force_login(alice)
    body = client.get(reverse("service-create")).content.decode()
    assert '<button type="submit" name="op" value="draft">Save without deploying</button>' in body
    assert f'hx-post="{reverse("service-test-pull")}"' in body
    assert 'hx-indicator="#test-pull-indicator"' in body and "pulling…" in body


def test_save_without_deploying_makes_a_not_deployed_service_and_queues_nothing(client, alice, team):
    data = flask_form(client, alice)
    response = client.post(reverse("service-create"), {**data, "op": "draft"})
    assert response.status_code == 302 and response["Location"] == reverse("service-detail", args=["flask_demo"])
    draft = Service.objects.get(name="flask_demo")
    assert draft.status == ServiceStatus.NOT_DEPLOYED and draft.current_version.number == 1
    assert not Deployment.objects.filter(service=draft).exists()
    created = client.post(reverse("service-create"), {**data, "name": ["flask_two"], "op": "save"})
    assert created.status_code == 302
    assert Deployment.objects.filter(service__name="flask_two").count() == 1


def test_test_pull_shows_each_image_with_its_outcome(client, alice, team, host, runtime):
    data = flask_form(client, alice)
    response = client.post(reverse("service-test-pull"), data, headers={"HX-Request": "true", "HX-Target": "test-pull"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert '<li class="ok"><code>registry.example.com/team/flask-app:1.0</code>: ok · pulled on host node-1' in body
    assert [call[:2] for call in runtime.calls] == [("pull", "registry.example.com/team/flask-app:1.0")]
    assert not Service.objects.filter(name="flask_demo").exists()  # nothing saved


def test_a_failed_test_pull_says_why(client, alice, team, host, monkeypatch):
    failing = FakeRuntime(fail=HostUnreachable("cannot reach the Docker host at unix:///x while pulling"))
    monkeypatch.setattr(engine_hosts, "host_runtime", lambda host: failing)
    data = flask_form(client, alice)
    body = client.post(reverse("service-test-pull"), data, headers={"HX-Request": "true"}).content.decode()
    assert '<li class="bad"><code>registry.example.com/team/flask-app:1.0</code>: failed · cannot reach' in body


def test_test_pull_without_a_ready_host_or_with_a_broken_form_explains(client, alice, team):
    data = flask_form(client, alice)
    body = client.post(reverse("service-test-pull"), data, headers={"HX-Request": "true"}).content.decode()
    assert "no Docker host is ready to pull on" in body
    data["port"] = ["8080"]
    body = client.post(reverse("service-test-pull"), data, headers={"HX-Request": "true"}).content.decode()
    assert "reserved" in body


def test_test_pull_without_javascript_answers_a_page(client, alice, team):
    data = flask_form(client, alice)
    response = client.post(reverse("service-test-pull"), data)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and "no Docker host is ready" in body


def test_test_pull_on_an_edit_page_uses_the_stored_secret_behind_the_mask(client, alice, team, host, runtime):
    config = copy.deepcopy(FLASK_CONFIG)
    config["dockerAuth"] = AUTH
    saved, _ = service_create(actor=alice, workspace=team, config=config)
    client.force_login(alice)
    data = fields_of(client.get(reverse("service-edit", args=[saved.name])).content.decode())
    assert data["docker_auth"] == [spec.SECRET_MASK]
    client.post(reverse("service-test-pull"), data, headers={"HX-Request": "true"})
    (_, _, auth), = runtime.calls
    assert (auth.username, auth.password) == ("bot", "registry-pass-123")


def test_viewers_cannot_test_pull_and_outsiders_get_404_for_a_teams_service(
    client, bob, charlie, service, host, runtime
):
    client.force_login(bob)  # bob's current workspace is team, where he only reads
    assert client.post(reverse("service-test-pull"), {"name": "x_y", "image": "busybox"}).status_code == 403
    client.force_login(charlie)
    assert client.post(reverse("service-test-pull"), {"service_name": service.name}).status_code == 404
    assert runtime.calls == []


# --- hosts (staff) ---------------------------------------------------------------------------


def test_the_hosts_page_lists_capacity_and_what_instances_use(admin_client, service, host):
    add_instance(service, host, 0, cpu=1.5, memory_mb=512)
    add_instance(service, host, 1, cpu=1, memory_mb=256)
    add_instance(service, host, 2, cpu=4, memory_mb=4096, status=InstanceStatus.TERMINATING)
    DockerHost.objects.filter(pk=host.pk).update(last_heartbeat=timezone.now(), message="")
    body = admin_client.get(reverse("host-list")).content.decode()
    row = body[body.index('<tr id="host-node-1">') :].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("</td")[0] for c in row.split("<td")[1:]]
    assert cells[0:2] == ["node-1", "<code>unix:///var/run/docker.sock</code>"]
    assert cells[2] == "10.0.0.5" and "Ready" in cells[3]
    assert cells[4:6] == ["8", "16384"]
    assert cells[6].startswith("2.50 ") and cells[7].startswith("768 ") and cells[8] == "2"
    assert "ago" in cells[9]
    assert reverse("host-drain", args=["node-1"]) in row and reverse("host-remove", args=["node-1"]) in row


def test_non_staff_get_403_on_every_host_page_and_post(client, alice, host):
    client.force_login(alice)
    assert client.get(reverse("host-list")).status_code == 403
    for url, data in [
        (reverse("host-add"), {"name": "x", "url": "unix:///var/run/docker.sock", "address": "127.0.0.1"}),
        (reverse("host-drain", args=[host.name]), {}),
        (reverse("host-undrain", args=[host.name]), {}),
        (reverse("host-remove", args=[host.name]), {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert DockerHost.objects.get(pk=host.pk).status == HostStatus.READY
    assert not DockerHost.objects.filter(name="x").exists()


def test_visitors_are_sent_to_log_in_for_hosts_and_dashboard(client):
    for name in ("host-list", "dashboard"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_admin_adds_a_tcp_host_with_tls_material(admin_client, monkeypatch):
    refreshed = []

    def refresh(*, host):  # reading capacity needs a real engine; the engine tests cover it
        refreshed.append(host.name)
        DockerHost.objects.filter(pk=host.pk).update(cpus=16, memory_mb=65536)
        host.refresh_from_db()
        return host

    monkeypatch.setattr(engine_hosts, "host_refresh", refresh)
    data = {"name": "gpu-1", "url": "tcp://10.0.0.9:2376", "address": "10.0.0.9",
            "tls_ca": "-----BEGIN CERTIFICATE-----\nCA\n", "tls_cert": "CERT", "tls_key": "KEY"}  # fmt: skip
    response = admin_client.post(reverse("host-add"), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("host-list")
    host = DockerHost.objects.get(name="gpu-1")
    assert (host.url, host.address, host.tls_ca, host.tls_cert, host.tls_key) == (
        "tcp://10.0.0.9:2376", "10.0.0.9", "-----BEGIN CERTIFICATE-----\nCA", "CERT", "KEY",
    )  # fmt: skip
    assert refreshed == ["gpu-1"]
    body = response.content.decode()
    assert "Saved host gpu-1: 16 CPUs, 65536 MB memory." in body
    assert "CERT" not in body.split('id="add-host"')[0]  # TLS material is never listed


def test_a_host_url_that_is_neither_unix_nor_tcp_is_refused_next_to_the_field(admin_client):
    response = admin_client.post(reverse("host-add"), {"name": "bad", "url": "http://10.0.0.9", "address": "10.0.0.9"})
    assert response.status_code == 400
    form = response.content.decode().split('id="add-host"')[1]
    assert "use unix:///path/to/docker.sock or tcp://host:port" in form
    assert not DockerHost.objects.filter(name="bad").exists()


def test_an_admin_drains_and_undrains_a_host(admin_client, host):
    admin_client.post(reverse("host-drain", args=[host.name]))
    assert DockerHost.objects.get(pk=host.pk).status == HostStatus.DRAINING
    body = admin_client.get(reverse("host-list")).content.decode()
    assert reverse("host-undrain", args=[host.name]) in body
    admin_client.post(reverse("host-undrain", args=[host.name]))
    assert DockerHost.objects.get(pk=host.pk).status == HostStatus.READY


def test_a_host_with_instances_is_not_removed_and_an_empty_one_is(admin_client, service, host):
    instance = add_instance(service, host, 0)
    response = admin_client.post(reverse("host-remove", args=[host.name]), follow=True)
    assert "still runs instances" in response.content.decode()
    assert DockerHost.objects.filter(pk=host.pk).exists()
    instance.delete()
    admin_client.post(reverse("host-remove", args=[host.name]))
    assert not DockerHost.objects.filter(pk=host.pk).exists()
    assert admin_client.post(reverse("host-remove", args=[host.name])).status_code == 404


def test_staff_see_hosts_and_dashboard_in_the_menu_and_others_do_not(client, admin_client, alice, team):
    menu = admin_client.get(reverse("api-key-list")).content.decode().split("</nav>")[0]
    assert reverse("host-list") in menu and reverse("dashboard") in menu
    client.force_login(alice)
    menu = client.get(reverse("api-key-list")).content.decode().split("</nav>")[0]
    assert reverse("host-list") not in menu and reverse("dashboard") not in menu


# --- dashboard (staff) -----------------------------------------------------------------------


@pytest.fixture
def no_broker(monkeypatch):
    """Celery's broker points at a closed port: queue depth and workers are unknown."""
    # Celery reads CELERY_BROKER_URL from the environment before its own config.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")


def make_services(alice, team, count: int, prefix: str, status: str = "") -> list[Service]:
    made = []
    for i in range(count):
        config = copy.deepcopy(FLASK_CONFIG)
        config["name"] = f"{prefix}_{i:03d}"
        made.append(service_create(actor=alice, workspace=team, config=config, deploy=False)[0])
    if status:
        Service.objects.filter(pk__in=[s.pk for s in made]).update(status=status)
    return made


def test_the_dashboard_counts_services_by_status_across_workspaces(admin_client, alice, charlie, team, no_broker):
    make_services(alice, team, 3, "run", ServiceStatus.RUNNING)
    charlie_ws = charlie.memberships.get().workspace
    make_services(charlie, charlie_ws, 2, "wait", ServiceStatus.WAITING)
    body = admin_client.get(reverse("dashboard")).content.decode()
    counts = body[body.index('id="status-counts"') :].split("</section>")[0]
    assert '<span class="badge Running">Running</span> <strong>3</strong>' in counts
    assert '<span class="badge Waiting">Waiting</span> <strong>2</strong>' in counts
    assert "All <strong>5</strong>" in counts
    table = body[body.index('id="dashboard-services"') :]
    assert "wait_000" in table and "charlie-space" in table and "team-a" in table


def test_the_dashboard_filters_services_by_status_and_htmx_gets_only_the_table(admin_client, alice, team, no_broker):
    make_services(alice, team, 2, "run", ServiceStatus.RUNNING)
    make_services(alice, team, 2, "stop", ServiceStatus.STOPPED)
    response = admin_client.get(reverse("dashboard"), {"status": "Stopped"}, headers=DASHBOARD_TABLE)
    body = response.content.decode()
    assert "<html" not in body and body.strip().startswith('<section class="card" id="dashboard-services">')
    assert "stop_000" in body and "run_000" not in body


def test_the_dashboard_lists_failed_services_and_warnings_of_the_last_day(admin_client, alice, team, no_broker):
    failed, ok = make_services(alice, team, 2, "svc")
    Service.objects.filter(pk=failed.pk).update(status=ServiceStatus.FAILED, message="svc_000-v1-0 exited with code 3")
    event_record(service=ok, reason="Unschedulable", message="no host has room", warning=True)
    old = event_record(service=ok, reason="OOMKilled", message="an old crash", warning=True)
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    event_record(service=ok, reason="Started", message="a normal event")
    body = admin_client.get(reverse("dashboard")).content.decode()
    failures = body[body.index('id="failures"') :].split("</section>")[0]
    assert "svc_000" in failures and "exited with code 3" in failures
    assert "no host has room" in failures
    assert "an old crash" not in failures and "a normal event" not in failures
    assert reverse("admin:deployments_service_change", args=[failed.pk]) in failures


def test_the_dashboard_shows_hosts_and_says_unknown_when_the_broker_is_down(admin_client, host, no_broker):
    DockerHost.objects.filter(pk=host.pk).update(last_heartbeat=timezone.now())
    body = admin_client.get(reverse("dashboard")).content.decode()
    assert '<tr id="host-node-1">' in body and reverse("host-drain", args=["node-1"]) not in body
    depth = body[body.index('id="queue-depth"') :][:200]
    assert "unknown" in depth
    assert f'hx-get="{reverse("dashboard-workers")}" hx-trigger="load"' in body
    assert "(newest host heartbeat)" in body
    assert reverse("admin:index") in body.split("</nav>")[1]
    workers = admin_client.get(reverse("dashboard-workers"), headers={"HX-Request": "true"}).content.decode()
    assert "unknown" in workers and "cannot reach the broker" in workers and "hx-get" not in workers


@pytest.mark.redis
def test_the_dashboard_shows_the_queue_depth_from_a_real_redis(admin_client, monkeypatch):
    from console.celery import app
    from tests import stack

    proc, url = stack.start_redis()
    try:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        dashboard._broker_redis().rpush("celery", "a", "b", "c")
        body = admin_client.get(reverse("dashboard")).content.decode()
        assert body[body.index('id="queue-depth">') :].startswith('id="queue-depth">3</dd>')
        pools = (app._pool, app.amqp._producer_pool)
        workers = admin_client.get(reverse("dashboard-workers")).content.decode()
        assert "no worker answered a ping" in workers
        # The ping must not leave the web process's task pools bound to this broker.
        assert (app._pool, app.amqp._producer_pool) == pools
    finally:
        stack.stop(proc)


def test_non_staff_get_403_on_the_dashboard(client, alice, bob, team):
    for user in (alice, bob):
        client.force_login(user)
        assert client.get(reverse("dashboard")).status_code == 403
        assert client.get(reverse("dashboard-workers")).status_code == 403


# --- constant query counts -------------------------------------------------------------------


def queries_of(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **extra).status_code in (200, 286)
    return len(captured.captured_queries)


def test_the_service_page_makes_the_same_queries_for_many_instances_events_and_versions(
    client, alice, service, host, django_assert_max_num_queries
):
    client.force_login(alice)
    url = reverse("service-detail", args=[service.name])
    add_instance(service, host, 0, ready=True)
    few = queries_of(client, url)
    few_status = queries_of(client, url, headers=STATUS_POLL)
    few_runtime = queries_of(client, url, headers=RUNTIME_POLL)
    for n in range(2, 5):
        config = copy.deepcopy(FLASK_CONFIG)
        config["containers"][0]["image"] = f"registry.example.com/team/flask-app:{n}.0"
        service_update(actor=alice, service=service, config=config)
    service.refresh_from_db()
    other = DockerHost.objects.create(name="node-2", url="unix:///x", cpus=4, memory_mb=4096)
    for i in range(1, 20):
        add_instance(service, other if i % 2 else host, i, last_state={"exitCode": 1, "reason": "Error"})
    Event.objects.bulk_create(
        Event(service=service, reason="Tick", message=f"tick {i}", type=EventType.WARNING) for i in range(80)
    )
    with django_assert_max_num_queries(few):
        body = client.get(url).content.decode()
    assert body.count('<tr id="instance-') == 20
    with django_assert_max_num_queries(few_status):
        client.get(url, headers=STATUS_POLL)
    with django_assert_max_num_queries(few_runtime):
        client.get(url, headers=RUNTIME_POLL)


def test_the_dashboard_makes_the_same_queries_for_many_services_hosts_and_failures(
    admin_client, alice, team, host, no_broker, django_assert_max_num_queries
):
    svc = make_services(alice, team, 1, "one", ServiceStatus.FAILED)[0]
    event_record(service=svc, reason="Failed", message="boom", warning=True)
    add_instance(svc, host, 0)
    few = queries_of(admin_client, reverse("dashboard"))
    many = make_services(alice, team, 40, "many", ServiceStatus.FAILED)
    for i, s in enumerate(many):
        event_record(service=s, reason="Failed", message="boom", warning=True)
        on = host if i >= 10 else DockerHost.objects.create(name=f"node-x{i}", url="unix:///x", cpus=2, memory_mb=1024)
        add_instance(s, on, 0)
    with django_assert_max_num_queries(few):
        body = admin_client.get(reverse("dashboard")).content.decode()
    assert body.count('<tr id="host-') == 11
    with django_assert_max_num_queries(few):
        admin_client.get(reverse("dashboard"), {"page": 2}, headers=DASHBOARD_TABLE)
