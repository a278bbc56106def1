"""Console bugs from a first walk-through, in a real Chromium: "try it" traffic and its token, delete
confirmations, the Endpoints card at 1366 px, error pages, and the new API key's URL and Copy button."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from deployments import selectors as _selectors
from deployments.actions.api_keys import api_key_create
from deployments.actions.credentials import registry_credential_create
from deployments.actions.object_stores import object_store_create
from deployments.models import ApiKey, Membership, RegistryCredential, Service
from tests.conftest import PASSWORD
from tests.e2e.walkthrough import draft_service

pytestmark = pytest.mark.browser


def log_in_as(page: Page, base_url: str, username: str, next_path: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


class CountingBackend:
    """A stand-in gateway on loopback: counts the requests "try it" sends, answers 401 without the token."""

    def __init__(self, token: str):
        self.token, self.requests = token, []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
                self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_OPTIONS(self):  # the CORS preflight: not a request to the service
                self._reply(204)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                backend.requests.append((self.path, self.headers.get("Authorization")))
                ok = self.headers.get("Authorization") == backend.token
                self._reply(200 if ok else 401, b'{"ok": true}' if ok else b"unauthorized")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend(alice, team, settings):
    service = draft_service(alice, team)
    backend = CountingBackend(service.token)
    settings.BERTH_INTERNET_ENDPOINT = backend.url
    yield backend
    backend.close()


def test_try_it_sends_one_request_per_click(page: Page, live_server, backend):
    log_in_as(page, live_server.url, "alice", "/services/flask_demo/")
    page.locator("#gateway-endpoints summary", has_text="Try it").click()
    page.locator("#gw-try-token").fill(backend.token)
    page.get_by_role("button", name="Send through the gateway").click()
    expect(page.locator("[data-try-status]")).to_contain_text("200")
    page.wait_for_timeout(500)  # a second, duplicate request would have arrived by now
    assert backend.requests == [("/api/predict/flask_demo/", backend.token)]


def test_try_it_has_the_token_filled_in_for_owners(page: Page, live_server, backend):
    log_in_as(page, live_server.url, "alice", "/services/flask_demo/")
    page.locator("#gateway-endpoints summary", has_text="Try it").click()
    page.get_by_role("button", name="Send through the gateway").click()
    expect(page.locator("[data-try-status]")).to_contain_text("200 OK")


def test_viewers_get_no_token_in_try_it(page: Page, live_server, backend, bob):
    log_in_as(page, live_server.url, "bob", "/services/flask_demo/")
    expect(page.locator("#gw-try-token")).to_have_value("")
    assert backend.token not in page.content()


def test_the_endpoints_card_fits_its_column_at_1366_px(page: Page, live_server, backend):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in_as(page, live_server.url, "alice", "/services/flask_demo/")
    card = page.locator("#gateway-endpoints").bounding_box()
    right = card["x"] + card["width"]
    for element in page.locator("#gateway-endpoints button:visible, #gateway-endpoints .hint").all():
        box = element.bounding_box()
        assert box["x"] + box["width"] <= right + 0.5, element.inner_text()


def test_deleting_a_service_asks_for_its_name(page: Page, live_server, alice, team):
    draft_service(alice, team)
    log_in_as(page, live_server.url, "alice", "/services/flask_demo/")
    page.get_by_text("Delete this service").click()
    delete = page.get_by_role("button", name="Delete flask_demo")
    confirm = page.get_by_label("Type flask_demo to confirm")
    confirm.fill("flask")
    delete.click()
    page.wait_for_timeout(300)
    assert Service.objects.filter(name="flask_demo").exists()
    confirm.fill("flask_demo")
    delete.click()
    expect(page).to_have_url(re.compile(r"/services/$"))
    assert not Service.objects.filter(name="flask_demo").exists()


def answer_next_dialog(page: Page, accept: bool) -> list[str]:
    shown: list[str] = []

    def handle(dialog):
        shown.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", handle)
    return shown


def check_asks_first(page: Page, button_name: str, still_there) -> None:
    """Dismissing the question keeps the thing; accepting removes it."""
    shown = answer_next_dialog(page, accept=False)
    page.get_by_role("button", name=button_name).click()
    page.wait_for_timeout(300)
    assert shown, f"{button_name}: no confirmation asked"
    assert still_there(), button_name
    answer_next_dialog(page, accept=True)
    page.get_by_role("button", name=button_name).click()
    expect(page.get_by_role("button", name=button_name)).to_have_count(0)
    assert not still_there(), button_name


def test_removing_members_credentials_object_stores_and_api_keys_asks_first(page: Page, live_server, alice, bob, team):
    registry_credential_create(
        actor=alice, workspace=team, name="ci", registry="r.example.com", username="u", password="p"
    )
    object_store_create(
        actor=alice, workspace=team, name="minio", endpoint_url="http://127.0.0.1:9", access_key_id="k",
        secret_access_key="secret-key",
    )  # fmt: skip
    api_key_create(user=alice, name="laptop")
    log_in_as(page, live_server.url, "alice", f"/workspaces/{team.slug}/")
    check_asks_first(page, "Remove bob", lambda: Membership.objects.filter(workspace=team, user=bob).exists())
    check_asks_first(page, "Delete ci", lambda: RegistryCredential.objects.filter(name="ci").exists())
    page.goto(f"{live_server.url}/workspaces/{team.slug}/object-stores/")
    check_asks_first(page, "Delete minio", lambda: _selectors_store_exists(team, "minio"))
    page.goto(f"{live_server.url}/api-keys/")
    check_asks_first(page, "Delete laptop", lambda: ApiKey.objects.filter(name="laptop").exists())


def _selectors_store_exists(team, name: str) -> bool:
    from deployments.models import ObjectStore

    return ObjectStore.objects.filter(workspace=team, name=name).exists()


def test_a_new_api_key_leaves_the_url_of_the_list_and_copies(page: Page, live_server, alice, team):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in_as(page, live_server.url, "alice", "/api-keys/")
    page.get_by_label("Key name").fill("ci")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-api-key").inner_text()
    expect(page).to_have_url(re.compile(r"/api-keys/$"))
    copy = page.locator("[data-copy='#new-api-key']")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key


def test_error_pages_are_console_pages_that_say_why_and_link_back(
    page: Page, live_server, alice, bob, team, monkeypatch
):
    draft_service(alice, team)
    log_in_as(page, live_server.url, "bob", "/services/")
    response = page.goto(f"{live_server.url}/no/such/page")
    assert response.status == 404
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the services")).to_be_visible()

    response = page.goto(f"{live_server.url}/services/flask_demo/edit")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator("main")).to_contain_text("viewer")
    expect(page.locator("main")).to_contain_text(team.name)
    expect(page.get_by_role("link", name="Back to the services")).to_be_visible()

    response = page.goto(f"{live_server.url}/hosts/")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("Only administrators manage Docker hosts")
    expect(page.locator("main")).not_to_contain_text("viewer")

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(_selectors, "service_list_for_user", broken)
    response = page.goto(f"{live_server.url}/services/")
    assert response.status == 500
    expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the services")).to_be_visible()
