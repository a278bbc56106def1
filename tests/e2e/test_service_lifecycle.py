"""A service's life in a real browser against the real engine (dockerd, Redis, Celery worker, prober):
create it through the form, watch the page turn Running without a reload, read the logs, stop, start.

Nothing is stubbed: `local_host` starts the stack, so the e2e conftest's task stub stands aside.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from deployments.models import Deployment
from tests.conftest import SERVICE_PREFIX
from tests.e2e.test_service_form import field, log_in

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.redis]

# The engine tests' busybox httpd, with a first log line to look for.
SCRIPT = "echo berth-e2e: serving /www && mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8000 -h /www"
TIMINGS = {
    "Initial delay (s)": "0", "Period (s)": "1", "Timeout (s)": "1", "Success threshold": "1", "Failure threshold": "2",
}  # fmt: skip
# httpd runs as PID 1 and ignores SIGTERM: without a short grace a stop waits the default 30 s.
EXTRA = '{"metadata": {"eas": {"termination_grace_period": 1}}}'
SETTLE = 30_000  # ms: a state change of the real engine


def test_a_busybox_service_runs_shows_its_logs_stops_and_starts_without_reloading(
    page: Page, live_server, alice, team, local_host, busybox_image, no_task_queue, tmp_path
):
    name = SERVICE_PREFIX + "life"
    log_in(page, live_server.url, "/services/-/new")
    field(page, "Service name").fill(name)
    field(page, "Image").fill(busybox_image)
    page.get_by_label("a script").check()
    field(page, "Script").fill(SCRIPT)
    field(page, "Port").fill("8000")
    field(page, "Health check").select_option("http_get")
    field(page, "Check path").fill("/index.html")
    field(page, "Check port").fill("8000")
    for label, value in TIMINGS.items():
        field(page, label).fill(value)
    field(page, "Instances").fill("1")
    page.locator("summary", has_text="Other keys").click()
    field(page, "Other keys (JSON)").fill(EXTRA)
    expect(page.locator("#preview-json")).to_contain_text('"termination_grace_period": 1')
    expect(page.locator("#preview h2")).to_contain_text("valid")

    page.get_by_role("button", name="Create service").click()
    expect(page).to_have_url(re.compile(rf"/services/{name}/$"))
    # From here on the page is only ever updated by htmx polling, until a button is pressed.
    page.evaluate("window.berthNotReloaded = true")
    status = page.locator("#service-status")
    expect(status.locator(".badge")).to_have_text("Running", timeout=SETTLE)
    expect(page.locator("#service-counts")).to_have_text("1 wanted · v1 ready 1")
    expect(status.locator(".timeline li.done")).to_have_count(6)
    row = page.locator(f"#instance-berth-{name}-v1-0")
    expect(row.locator("td.ready")).to_have_text("yes", timeout=SETTLE)
    expect(row).to_contain_text("local")
    expect(page.locator("#events")).to_contain_text("Started", timeout=SETTLE)
    assert page.evaluate("window.berthNotReloaded") is True
    assert no_task_queue == []  # the real worker got the deployment, not the stub

    # Logs: the tail in place, following, and the full download.
    row.get_by_role("link", name=re.compile("^Logs")).click()
    logs = page.locator("#logs")
    expect(logs.locator("h2")).to_contain_text(f"Logs of berth-{name}-v1-0")
    expect(logs.locator("#log-text")).to_contain_text("berth-e2e: serving /www")
    page.get_by_label("Follow").check()
    expect(logs.locator("h2")).to_contain_text("following")
    page.get_by_label("Follow").uncheck()
    expect(page.locator("#logs h2")).not_to_contain_text("following")
    with page.expect_download() as download_info:
        logs.get_by_role("link", name="Download full logs").click()
    download = download_info.value
    assert download.suggested_filename == f"berth-{name}-v1-0.log"
    download.save_as(tmp_path / "instance.log")
    assert "berth-e2e: serving /www" in (tmp_path / "instance.log").read_text()
    page.goto(f"{live_server.url}/services/{name}/")

    # Stop asks first, then the page follows the service down to Stopped.
    page.once("dialog", lambda dialog: dialog.accept())
    status.get_by_role("button", name="Stop").click()
    expect(page.locator(".messages")).to_contain_text(f"Stopping {name}.")
    expect(status.locator(".badge")).to_have_text("Stopped", timeout=SETTLE)
    expect(page.locator("#service-counts")).to_have_text("no instances")
    expect(page.locator("#instances")).to_contain_text("the service is stopped", timeout=SETTLE)
    expect(page.locator("#events")).to_contain_text("all instances stopped")

    # Start appears once Stopped (the status region carries the buttons) and brings it back.
    status.get_by_role("button", name="Start").click()
    expect(status.locator(".badge")).to_have_text("Running", timeout=SETTLE)
    expect(page.locator(f"#instance-berth-{name}-v1-0 td.ready")).to_have_text("yes", timeout=SETTLE)
    kinds = list(Deployment.objects.filter(service__name=name).order_by("created_at").values_list("kind", flat=True))
    assert kinds == ["create", "stop", "start"]
