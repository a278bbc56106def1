"""Every console page at a laptop width (1366 px) and a phone width (390 px): no sideways scrolling and no
console errors; on a phone the grids stack and the header's links fold behind a Menu button."""

import pytest
from playwright.sync_api import Page, expect

from deployments.actions.api_keys import api_key_create
from deployments.actions.credentials import registry_credential_create
from tests.e2e.test_console_walkthrough import log_in_as
from tests.e2e.walkthrough import capture_console_errors, draft_service, horizontal_overflow

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": 1366, "phone": 390}


def console_pages(team, service) -> dict[str, str]:
    slug, name = team.slug, service.name
    return {
        "dashboard": "/dashboard/",
        "services list": "/services/",
        "new service": "/services/-/new",
        "service page": f"/services/{name}/",
        "versions": f"/services/{name}/#versions",
        "gateway": f"/services/{name}/gateway",
        "mounts": f"/services/{name}/mounts",
        "version diff": f"/services/{name}/versions/diff",
        "service logs": f"/services/{name}/logs?timestamps=1&since=1h&q=x",
        "edit": f"/services/{name}/edit",
        "workspace": f"/workspaces/{slug}/",
        "members": f"/workspaces/{slug}/#members",
        "credentials": f"/workspaces/{slug}/#credentials",
        "object stores": f"/workspaces/{slug}/object-stores/",
        "api keys": "/api-keys/",
        "hosts": "/hosts/",
        "404": "/no/such/page",
    }


@pytest.fixture
def console_data(alice, bob, team):
    alice.is_staff = True  # hosts and the dashboard are for administrators
    alice.save(update_fields=["is_staff"])
    registry_credential_create(
        actor=alice, workspace=team, name="ci", registry="registry.example.com:5000", username="u", password="p"
    )
    api_key_create(user=alice, name="laptop")
    return draft_service(alice, team)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_every_console_page_fits_the_window_without_console_errors(page: Page, live_server, team, console_data, width):
    page.set_viewport_size({"width": width, "height": 900})
    errors = capture_console_errors(page)
    page.goto(f"{live_server.url}/accounts/login/")
    problems = {}
    if horizontal_overflow(page) > 0:
        problems["login"] = f"{horizontal_overflow(page)} px too wide"
    log_in_as(page, live_server.url, "alice", "/services/")
    for label, path in console_pages(team, console_data).items():
        del errors[:]
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")  # htmx-loaded parts (object stores, mounts, workers) are in
        overflow = horizontal_overflow(page)
        if overflow > 0:
            problems[label] = f"{overflow} px too wide"
        if label == "404":  # the browser reports the page's own status; that one is expected
            errors[:] = [e for e in errors if "status of 404" not in e]
        if errors:
            problems[label] = errors[:]
    assert problems == {}


def test_on_a_phone_the_grids_stack_and_the_menu_button_shows_the_links(page: Page, live_server, team, console_data):
    page.set_viewport_size({"width": 390, "height": 800})
    log_in_as(page, live_server.url, "alice", "/services/-/new")
    form = page.locator("#service-form").bounding_box()
    preview = page.locator("#preview").bounding_box()
    assert preview["y"] >= form["y"] + form["height"] - 1, "the preview sits beside the form, not below it"

    services_link = page.locator("header nav").get_by_role("link", name="Services")
    expect(services_link).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(services_link).to_be_visible()
    services_link.click()
    expect(page).to_have_url(f"{live_server.url}/services/")
    assert horizontal_overflow(page) == 0


def test_at_1366_px_the_header_shows_its_links_without_a_menu_button(page: Page, live_server, team, console_data):
    page.set_viewport_size({"width": 1366, "height": 800})
    log_in_as(page, live_server.url, "alice", "/services/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.locator("header nav").get_by_role("link", name="Services")).to_be_visible()
