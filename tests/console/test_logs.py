"""Logs as people read them (issue 12 #7): a service-wide view interleaving instances by time,
search, timestamps, tail and since, colours rendered — in the console and the API.
"""

import pytest
from django.urls import reverse

from deployments.actions.services import service_create
from deployments.engine import hosts as engine_hosts
from deployments.engine import logs as engine_logs
from deployments.models import DockerHost, Instance
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

LOGS = {"HX-Request": "true", "HX-Target": "logs"}

# Two instances whose lines alternate in time; the second one's first line is red.
OUTPUT = {
    "berth-flask_demo-v1-0": [
        "2026-12-01T09:00:01.000000000Z zero starts",
        "2026-12-01T09:00:03.000000000Z zero GET /health 200",
    ],
    "berth-flask_demo-v1-1": [
        "2026-12-01T09:00:02.000000000Z \x1b[31mone failed <oops>\x1b[0m",
        "2026-12-01T09:00:04.000000000Z one GET /health 200",
    ],
}


class StampedRuntime:
    """A Docker host that answers `logs` like Docker does, with or without timestamps."""

    def __init__(self):
        self.calls = []

    def logs(self, name, *, tail=100, timestamps=False, since=None):
        self.calls.append({"name": name, "tail": tail, "timestamps": timestamps, "since": since})
        rows = OUTPUT.get(name, [])
        if not timestamps:
            rows = [row.split(" ", 1)[1] for row in rows]
        return "".join(f"{row}\n" for row in rows)


@pytest.fixture
def runtime(monkeypatch):
    fake = StampedRuntime()
    monkeypatch.setattr(engine_hosts, "host_runtime", lambda host: fake)
    return fake


@pytest.fixture
def service(alice, team, flask_config):
    created, _ = service_create(actor=alice, workspace=team, config=flask_config)
    host = DockerHost.objects.create(name="node-1", url="unix:///x", address="10.0.0.5", cpus=8, memory_mb=16384)
    for ordinal in (0, 1):
        Instance.objects.create(
            service=created, version=created.current_version, host=host, ordinal=ordinal,
            name=f"berth-{created.name}-v1-{ordinal}", host_port=32000 + ordinal,
        )  # fmt: skip
    return created


def log_text(body: str) -> str:
    return body[body.index('id="log-text"') :].split("</pre>")[0]


def test_the_service_wide_view_interleaves_every_instance_by_time_and_names_each_line(client, bob, service, runtime):
    client.force_login(bob)
    body = client.get(reverse("service-logs", args=[service.name])).content.decode()
    text = log_text(body)
    order = ["zero starts", "one failed", "zero GET", "one GET"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert "[berth-flask_demo-v1-0] zero starts" in text and "[berth-flask_demo-v1-1] one GET" in text
    assert "All 2 instances" in body


def test_ansi_colours_are_rendered_and_the_text_stays_escaped(client, alice, service, runtime):
    client.force_login(alice)
    text = log_text(client.get(reverse("service-logs", args=[service.name])).content.decode())
    assert "\x1b" not in text and "[31m" not in text
    assert '<span style="color: #' in text and "one failed &lt;oops&gt;</span>" in text


def test_timestamps_show_only_when_asked(client, alice, service, runtime):
    client.force_login(alice)
    url = reverse("instance-logs", args=[service.name, "berth-flask_demo-v1-0"])
    plain = log_text(client.get(url).content.decode())
    stamped = log_text(client.get(url, {"timestamps": "1"}).content.decode())
    assert "2026-12-01T09:00:01" not in plain and "zero starts" in plain
    assert "2026-12-01T09:00:01.000000000Z zero starts" in stamped


def test_search_keeps_only_matching_lines_ignoring_case_and_colour_codes(client, alice, service, runtime):
    client.force_login(alice)
    body = client.get(reverse("service-logs", args=[service.name]), {"q": "FAILED <"}, headers=LOGS).content.decode()
    text = log_text(body)
    assert "one failed" in text and "GET" not in text and "starts" not in text
    assert "1 line matching" in body


def test_tail_and_since_reach_docker_and_a_followed_view_polls_with_the_same_options(client, alice, service, runtime):
    client.force_login(alice)
    url = reverse("service-logs", args=[service.name])
    body = client.get(url, {"tail": "500", "since": "1h", "follow": "1", "q": "GET"}, headers=LOGS).content.decode()
    assert {call["tail"] for call in runtime.calls} == {500}
    assert all(call["timestamps"] and call["since"] for call in runtime.calls)
    assert f'hx-get="{url}?tail=500&amp;q=GET&amp;since=1h&amp;follow=1" hx-trigger="every 2s"' in body
    page = client.get(url, {"tail": "all"}).content.decode()
    assert runtime.calls[-1]["tail"] == "all" and runtime.calls[-1]["since"] is None
    assert '<option value="all" selected>' in page


def test_bad_options_fall_back_to_defaults():
    options = engine_logs.LogOptions.from_query({"tail": "lots", "since": "yesterday", "timestamps": "no"})
    assert options == engine_logs.LogOptions(tail=200, since=None, search="", timestamps=False)
    assert engine_logs.LogOptions.from_query({"tail": "999999"}).tail == engine_logs.MAX_TAIL


def test_the_api_gains_the_same_options_and_an_all_instances_view(bob, service, runtime):
    api = api_client_for(bob)
    url = f"/api/v1/services/{service.name}/logs"
    everything = api.get(url, {"instance": "all", "timestamps": "true"})
    assert everything.status_code == 200
    assert everything.content.decode().splitlines() == [
        "[berth-flask_demo-v1-0] 2026-12-01T09:00:01.000000000Z zero starts",
        "[berth-flask_demo-v1-1] 2026-12-01T09:00:02.000000000Z one failed <oops>",
        "[berth-flask_demo-v1-0] 2026-12-01T09:00:03.000000000Z zero GET /health 200",
        "[berth-flask_demo-v1-1] 2026-12-01T09:00:04.000000000Z one GET /health 200",
    ]
    one = api.get(url, {"instance": "berth-flask_demo-v1-1", "q": "get", "tail": "50", "since": "5m"})
    assert one.content.decode() == "one GET /health 200\n"
    assert runtime.calls[-1]["tail"] == 50 and runtime.calls[-1]["since"] is not None
