"""The gateway panels in a real Chromium: traffic charts show the requests sent, "try it" calls the gateway."""

import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.fixtures_gateway import deploy, echo_config, http
from tests.stack import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.redis]

# Playwright's sync API runs an event loop in this thread; ORM calls from tests are fine here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
        ],
    }  # fmt: skip


def log_in(page: Page, base_url: str, next_path: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def test_the_traffic_charts_show_the_requests_sent_and_try_it_answers(
    page: Page, live_server, local_host, alice, python_image_tag, gateway, settings, alice_api
):
    settings.BERTH_INTERNET_ENDPOINT = gateway.url
    service = deploy(alice, echo_config("charted", python_image_tag, instance=2), gateway)
    for _ in range(25):
        assert (
            http(
                gateway.predict_url(service.name, "/chart"),
                method="POST",
                body=b"{}",
                headers={"Authorization": service.token},
            ).status
            == 200
        )
    wait_for(
        lambda: alice_api.get(f"/api/v1/services/{service.name}/metrics").json()["totals"]["responses"]["2xx"] >= 25,
        timeout=15, what="the requests in the samples",
    )  # fmt: skip

    path = f"/services/{service.name}/gateway"
    log_in(page, live_server.url, path)
    traffic = page.locator("#gateway-traffic")
    expect(traffic).to_have_attribute("data-loaded", "true", timeout=15000)
    expect(traffic.locator("[data-total-requests]")).to_have_text(re.compile(r"^\d+$"))
    assert int(traffic.locator("[data-total-requests]").inner_text()) >= 25
    assert int(traffic.locator("[data-total-2xx]").inner_text()) >= 25
    # The charts are drawn (uPlot canvases) with the sampled points.
    qps = traffic.locator('[data-chart="qps"]')
    expect(qps.locator("canvas")).to_have_count(1)
    assert int(qps.get_attribute("data-points")) >= 1
    expect(traffic.locator('[data-chart="cpu"] canvas')).to_have_count(1)
    page.screenshot(path=str(gateway.directory.parent / "test-gateway-ui.png"), full_page=True)  # for people

    # Reveal the token, then send a request through the gateway from the browser (cross-origin: CORS).
    page.get_by_role("link", name="Reveal token").click()
    expect(page.locator("#service-token")).to_have_text(service.token)
    expect(page.locator("#gw-curl")).to_contain_text(service.token)
    page.locator("#gateway-endpoints summary").click()
    page.locator("input[name=path]").fill("/from-the-browser?x=1")
    page.get_by_role("button", name="Send through the gateway").click()
    expect(page.locator("[data-try-status]")).to_contain_text("200")
    expect(page.locator("[data-try-result]")).to_contain_text('"path": "/from-the-browser"')
