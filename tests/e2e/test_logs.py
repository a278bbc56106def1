"""Logs in a real browser against real containers (issue 12 #7): the page opens at the newest line,
stays there while following, interleaves every instance with its name, and searches.
"""

import pytest
from playwright.sync_api import Page, expect

from deployments.actions import services, workspaces
from deployments.choices import ServiceStatus
from deployments.models import Service
from tests.conftest import SERVICE_PREFIX
from tests.e2e.test_service_form import log_in
from tests.stack import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.redis]

# 300 lines at once (more than the box shows), then one red line a second, while httpd serves the check.
SCRIPT = (
    "i=0; while [ $i -lt 300 ]; do echo boot line $i; i=$((i+1)); done; "
    "(n=0; while true; do printf '\\033[32mtick %s\\033[0m\\n' $n; n=$((n+1)); sleep 1; done) & "
    "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8000 -h /www"
)
CHECK = {"initial_delay_seconds": 0, "period_seconds": 1, "timeout_seconds": 1, "success_threshold": 1}


def at_bottom(page: Page) -> bool:
    return page.evaluate(
        "(() => { const p = document.getElementById('log-text'); return p.scrollHeight - p.scrollTop - p.clientHeight < 24; })()"
    )


def test_logs_open_at_the_newest_line_stick_to_it_while_following_and_interleave_instances(
    page: Page, live_server, alice, local_host, busybox_image
):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = {
        "name": SERVICE_PREFIX + "logs",
        "containers": [
            {
                "image": busybox_image, "script": SCRIPT, "port": 8000,
                "health_check": {"http_get": {"path": "/index.html", "port": 8000}, **CHECK, "failure_threshold": 2},
            }
        ],
        "metadata": {"instance": 2, "memory": 64, "eas": {"termination_grace_period": 1}},
    }  # fmt: skip
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    wait_for(
        lambda: Service.objects.get(pk=service.pk).status == ServiceStatus.RUNNING, timeout=90, what="service running"
    )
    instance = f"berth-{service.name}-v1-0"

    log_in(page, live_server.url, f"/services/{service.name}/instances/{instance}/logs")
    text = page.locator("#log-text")
    expect(text).to_contain_text("boot line 299")
    assert at_bottom(page), "the logs open at the oldest line"
    # Colour codes are rendered, never shown raw.
    expect(text.locator("span", has_text="tick").first).to_be_visible()
    assert "[32m" not in text.inner_text()

    page.get_by_label("Follow").check()
    expect(page.locator("#logs h2")).to_contain_text("following")
    seen = text.inner_text().count("tick")
    wait_for(lambda: text.inner_text().count("tick") > seen + 1, timeout=15, what="new lines while following")
    assert at_bottom(page), "following lost the newest line"

    page.get_by_label("Timestamps").check()
    expect(text).to_contain_text("Z boot line 299")

    # Every instance in one view, each line named by its instance; then a search.
    page.goto(f"{live_server.url}/services/{service.name}/logs")
    expect(text).to_contain_text(f"[berth-{service.name}-v1-0] boot line 299")
    expect(text).to_contain_text(f"[berth-{service.name}-v1-1] boot line 299")
    page.get_by_label("Search").fill("boot line 29")
    expect(page.locator("#log-summary")).to_contain_text("20 lines matching")  # tail 200 of each: boot lines 290-299
    assert "tick" not in text.inner_text()
