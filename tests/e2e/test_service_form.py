"""The service form in a real browser: type, watch the server-rendered preview, download, import back, save."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from deployments import spec
from tests.conftest import FLASK_CONFIG, PASSWORD

pytestmark = pytest.mark.browser

IMAGE = "registry.example.com/team/flask-app:1.0"
TIMINGS = {
    "Initial delay (s)": "1", "Period (s)": "1", "Timeout (s)": "1", "Success threshold": "1", "Failure threshold": "3",
}  # fmt: skip

# What the form must show for the Flask service, by label (exact label text).
EXPECTED_FIELDS = {
    "Service name": "flask_demo",
    "Image": IMAGE,
    "Command": "python app.py",
    "Port": "8000",
    "Variable name": "MODEL_DIR",
    "Variable value": "/models",
    "Python requirements (one per line)": "flask==3.0.3",
    "Health check": "http_get",
    "Check path": "/hello/model",
    "Check port": "8000",
    **TIMINGS,
    "Instances": "2",
    "CPU cores": "1",
    "Memory (MB)": "512",
}


def field(page: Page, label: str):
    return page.get_by_label(label, exact=True)


def log_in(page: Page, base_url: str, next_path: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def test_a_flask_service_is_typed_previewed_downloaded_imported_and_saved(
    page: Page, live_server, alice, team, tmp_path, no_task_queue
):
    new_service = "/services/-/new"
    log_in(page, live_server.url, new_service)
    preview = page.locator("#preview-json")

    field(page, "Service name").fill("flask_demo")
    field(page, "Image").fill(IMAGE)
    field(page, "Command").fill("python app.py")
    field(page, "Port").fill("8000")
    page.get_by_role("button", name="Add variable").click()
    field(page, "Variable name").fill("MODEL_DIR")
    field(page, "Variable value").fill("/models")
    field(page, "Python requirements (one per line)").fill("flask==3.0.3")
    field(page, "Health check").select_option("http_get")
    field(page, "Check path").fill("/hello/model")
    field(page, "Check port").fill("8000")
    for label, value in TIMINGS.items():
        field(page, label).fill(value)
    field(page, "Instances").fill("2")
    field(page, "CPU cores").fill("1")
    field(page, "Memory (MB)").fill("512")

    # The server re-renders the preview from the spec as the user types.
    expect(preview).to_contain_text('"path": "/hello/model"')
    expect(preview).to_contain_text('"flask==3.0.3"')
    expect(preview).to_contain_text('"instance": 2')
    expect(preview).to_contain_text('"name": "MODEL_DIR"')
    expect(page.locator("#preview h2")).to_contain_text("valid")

    # A reserved port: the error appears next to the port field, and goes when fixed.
    port_errors = page.locator("#err-port")
    field(page, "Port").fill("8080")
    expect(port_errors).to_contain_text("reserved")
    expect(page.locator("#preview h2")).to_contain_text("1 problem")
    field(page, "Port").fill("8000")
    expect(port_errors).to_have_text("")
    expect(preview).to_contain_text('"port": 8000')

    # Download: a file named after the service, holding the canonical config.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download JSON").click()
    download = download_info.value
    assert download.suggested_filename == "flask_demo.json"
    saved_path = tmp_path / "flask_demo.json"
    download.save_as(saved_path)
    downloaded = json.loads(saved_path.read_text())
    assert downloaded == spec.validate_config(FLASK_CONFIG).config

    # Import it back into a fresh form: every field shows the same value.
    page.goto(f"{live_server.url}{new_service}")
    expect(field(page, "Service name")).to_have_value("")
    page.get_by_text("Import a JSON config").click()
    page.get_by_label("JSON file").set_input_files(saved_path)
    page.get_by_role("button", name="Import into the form").click()
    expect(field(page, "Service name")).to_have_value("flask_demo")
    for label, value in EXPECTED_FIELDS.items():
        expect(field(page, label)).to_have_value(value)
    expect(page.get_by_label("a command")).to_be_checked()
    expect(page.get_by_label("Enable gRPC")).not_to_be_checked()
    expect(preview).to_contain_text('"path": "/hello/model"')

    # Save: the detail page shows the service and its config.
    page.get_by_role("button", name="Create service").click()
    expect(page).to_have_url(re.compile(r"/services/flask_demo/$"))
    expect(page.get_by_role("heading", name="flask_demo")).to_be_visible()
    expect(page.locator("#config-json")).to_contain_text('"path": "/hello/model"')
    expect(page.get_by_role("row", name=re.compile(r"^v1 current .* alice$"))).to_be_visible()
    assert [name for name, _ in no_task_queue] == ["deployment_execute"]  # saving started a deployment
