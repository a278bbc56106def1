"""The service form's bugs from a first walk-through, each in a real Chromium: Enter, import sources,
errors before typing, what CPU accepts, mount labels, console errors and focus after adding a row."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from deployments.actions import services
from deployments.models import Service
from tests.conftest import FLASK_CONFIG
from tests.e2e.test_service_form import IMAGE, field, log_in
from tests.e2e.walkthrough import capture_console_errors, draft_service

pytestmark = pytest.mark.browser

NEW = "/services/-/new"


def test_enter_in_a_text_field_saves_the_service_with_its_variables(page: Page, live_server, alice, team):
    log_in(page, live_server.url, NEW)
    field(page, "Service name").fill("enter_demo")
    field(page, "Image").fill(IMAGE)
    field(page, "Command").fill("python app.py")
    field(page, "Port").fill("8000")
    page.get_by_role("button", name="Add variable").click()
    field(page, "Variable name").fill("MODEL_DIR")
    field(page, "Variable value").fill("/models")

    field(page, "Image").press("Enter")

    # Enter saved the form (it did not press "Remove variable", the form's first button).
    expect(page).to_have_url(re.compile(r"/services/enter_demo/$"))
    config = services.service_config(service=Service.objects.get(name="enter_demo"))
    assert config["containers"][0]["env"] == [{"name": "MODEL_DIR", "value": "/models"}]


def test_enter_on_the_edit_page_saves_and_keeps_the_variables(page: Page, live_server, alice, team):
    draft_service(alice, team, "edit_demo")
    log_in(page, live_server.url, "/services/edit_demo/edit")
    field(page, "Image").fill(IMAGE.replace("1.0", "2.0"))
    field(page, "Image").press("Enter")
    expect(page).to_have_url(re.compile(r"/services/edit_demo/$"))
    config = services.service_config(service=Service.objects.get(name="edit_demo"))
    assert config["containers"][0]["image"].endswith(":2.0")
    assert config["containers"][0]["env"] == [{"name": "MODEL_DIR", "value": "/models"}]


def test_enter_in_a_blank_form_adds_no_variable(page: Page, live_server, alice, team):
    log_in(page, live_server.url, NEW)
    field(page, "Image").fill(IMAGE)
    field(page, "Image").press("Enter")
    expect(page.locator("#err-name")).to_contain_text("required")
    expect(field(page, "Variable name")).to_have_count(0)


def test_the_most_recent_import_input_wins_and_errors_name_their_source(page: Page, live_server, alice, team, tmp_path):
    from_file = tmp_path / "from_file.json"
    from_file.write_text(json.dumps({**FLASK_CONFIG, "name": "from_file"}))
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ')
    log_in(page, live_server.url, NEW)
    page.get_by_text("Import a JSON config").click()
    paste, chooser = page.get_by_label("Paste JSON"), page.get_by_label("JSON file")
    import_button = page.get_by_role("button", name="Import into the form")
    errors = page.locator("#general-errors")

    # A file first, then broken text pasted: the paste is what was imported, and the error says so.
    chooser.set_input_files(from_file)
    paste.fill('{"name": "half')
    import_button.click()
    expect(errors).to_contain_text("pasted")
    expect(errors).not_to_contain_text("file")
    expect(field(page, "Service name")).to_have_value("")

    # A file again, then good text pasted: the text wins.
    chooser.set_input_files(from_file)
    paste.fill(json.dumps({**FLASK_CONFIG, "name": "from_paste"}))
    import_button.click()
    expect(field(page, "Service name")).to_have_value("from_paste")

    # Text, then a broken file chosen: the file wins and its error names it.
    paste.fill(json.dumps({**FLASK_CONFIG, "name": "pasted_again"}))
    chooser.set_input_files(broken)
    import_button.click()
    expect(errors).to_contain_text("broken.json is not valid JSON")
    expect(field(page, "Service name")).to_have_value("from_paste")


def test_a_blank_form_shows_errors_only_for_touched_fields_and_all_of_them_on_save(
    page: Page, live_server, alice, team
):
    log_in(page, live_server.url, NEW)
    expect(page.locator("#preview h2")).to_contain_text("problem")
    expect(page.locator(".field-errors li:visible")).to_have_count(0)

    field(page, "Image").fill("x")
    field(page, "Image").fill("")
    expect(page.locator("#err-image")).to_be_visible()
    expect(page.locator("#err-image")).to_contain_text("required")
    expect(page.locator("#err-name")).to_be_hidden()

    page.get_by_role("button", name="Create service").click()
    expect(page.locator("#err-name")).to_be_visible()
    expect(page.locator("#err-name")).to_contain_text("required")


def test_the_cpu_input_says_it_takes_whole_cores(page: Page, live_server, alice, team):
    log_in(page, live_server.url, NEW)
    cpu = field(page, "CPU cores")
    expect(cpu).to_have_attribute("step", "1")
    expect(cpu).to_have_attribute("min", "1")
    cpu.fill("0.5")
    assert cpu.evaluate("input => input.validity.stepMismatch") is True
    expect(page.locator("#cpu-hint")).to_contain_text("whole cores")


def test_mount_types_have_human_labels_and_host_paths_say_why_they_are_off(
    page: Page, live_server, alice, team, settings
):
    settings.BERTH_HOST_PATH_ROOTS = []
    log_in(page, live_server.url, NEW)
    page.get_by_role("button", name="Add mount").click()
    mount_type = field(page, "Mount type")
    expect(mount_type.locator("option")).to_have_count(6)  # the new row is in (htmx swaps it in)
    labels = mount_type.locator("option").all_inner_texts()
    assert not {"oss", "empty_dir", "host_path", "nfs", "git", "image"} & set(labels), labels
    assert "Object storage (OSS, S3)" in labels
    host_path = mount_type.locator("option[value=host_path]")
    expect(host_path).to_be_disabled()
    expect(host_path).to_contain_text("BERTH_HOST_PATH_ROOTS")

    settings.BERTH_HOST_PATH_ROOTS = ["/srv/models"]
    page.reload()
    page.get_by_role("button", name="Add mount").click()
    field(page, "Mount type").select_option("host_path")
    expect(page.get_by_text("/srv/models", exact=False).first).to_be_visible()


def test_adding_and_removing_rows_focuses_the_new_row(page: Page, live_server, alice, team):
    log_in(page, live_server.url, NEW)
    page.get_by_role("button", name="Add variable").click()
    expect(page.locator(".env-row").last.get_by_label("Variable name")).to_be_focused()
    page.keyboard.type("A")
    page.get_by_role("button", name="Add variable").click()
    expect(page.locator(".env-row")).to_have_count(2)
    expect(page.locator(".env-row").last.get_by_label("Variable name")).to_be_focused()
    page.get_by_role("button", name="Add mount").click()
    expect(page.locator("fieldset.mount").last.get_by_label("Mount type")).to_be_focused()


def test_adding_and_removing_rows_while_typing_logs_no_console_errors(page: Page, live_server, alice, team):
    errors = capture_console_errors(page)
    log_in(page, live_server.url, NEW)
    for name in ("A", "B"):
        field(page, "Image").fill(IMAGE)
        page.get_by_role("button", name="Add variable").click()
        expect(page.locator(".env-row")).to_have_count(1 if name == "A" else 2)
        page.locator(".env-row").last.get_by_label("Variable name").fill(name)
        page.get_by_role("button", name="Add mount").click()
    page.get_by_role("button", name=re.compile("^Remove variable")).first.click()
    expect(page.locator(".env-row")).to_have_count(1)
    page.get_by_role("button", name="Remove mount 1").click()
    expect(page.locator("fieldset.mount")).to_have_count(1)
    page.wait_for_timeout(800)  # let the last preview finish
    assert errors == []
