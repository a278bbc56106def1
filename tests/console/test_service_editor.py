"""The service form pages: live preview, import, download, save, and secrets through all of them.

`fields_of` reads a rendered form the way a browser submits it, so these tests post
exactly what the page shows, masks and hidden fields included.
"""

import base64
import copy
import json
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from deployments import spec
from deployments.actions.services import service_config, service_create
from deployments.models import Membership, Service, ServiceVersion
from tests.conftest import FLASK_CONFIG

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "editor"}
AUTH = base64.b64encode(b"bot:registry-pass-123").decode()


class _FormReader(HTMLParser):
    """Collects what a browser would submit for the form with id `form_id` (no button pressed)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self._textarea: list | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file") or (kind in ("checkbox", "radio") and "checked" not in a):
                return
            self.fields.append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "textarea":
            self._textarea = [a["name"], ""]
        elif tag == "select":
            self._select = {"name": a["name"], "first": None, "chosen": None}
        elif tag == "option" and self._select is not None:
            if self._select["first"] is None:
                self._select["first"] = a.get("value", "")
            if "selected" in a:
                self._select["chosen"] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.fields.append((name, text[1:] if text.startswith("\n") else text))  # HTML drops one leading newline
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"]
            self.fields.append((self._select["name"], chosen if chosen is not None else self._select["first"]))
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data


def fields_of(html: str, form_id: str = "service-form") -> dict[str, list[str]]:
    reader = _FormReader(form_id)
    reader.feed(html)
    fields: dict[str, list[str]] = {}
    for name, value in reader.fields:
        fields.setdefault(name, []).append(value)
    return fields


def value_of(html: str, name: str) -> str:
    return fields_of(html)[name][0]


@pytest.fixture
def service(alice, team):
    config = copy.deepcopy(FLASK_CONFIG)
    config["dockerAuth"] = AUTH
    git = {"repo": "https://git.example.com/a.git", "password": "git-pass-456"}
    config["storage"] = [{"mount_path": "/code", "git": git}]
    created, _ = service_create(actor=alice, workspace=team, config=config)
    return created


def new_form(client, user) -> dict[str, list[str]]:
    client.force_login(user)
    return fields_of(client.get(reverse("service-create")).content.decode())


def flask_form(client, alice) -> dict[str, list[str]]:
    """The new-service page with the Flask service imported, as the browser would now submit it."""
    client.force_login(alice)
    response = client.post(reverse("service-create"), {"op": "import", "import_text": json.dumps(FLASK_CONFIG)})
    return fields_of(response.content.decode())


# --- preview ---------------------------------------------------------------------------------


def test_the_preview_is_the_canonical_json_of_what_was_typed(client, alice, team):
    data = flask_form(client, alice)
    data["image"] = ["registry.example.com/team/flask-app:2.0"]
    response = client.post(reverse("service-preview"), data, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "flask-app:2.0" in body and "valid" in body
    assert 'id="err-port" hx-swap-oob="true"></ul>' in body  # every slot is answered, so old errors clear


def test_the_preview_puts_each_error_next_to_its_field(client, alice, team):
    data = flask_form(client, alice)
    data["port"] = ["8080"]
    data["env-0-name"] = ["1BAD"]
    body = client.post(reverse("service-preview"), data, headers=HTMX).content.decode()
    port_slot = body[body.index('id="err-port"') : body.index("</ul>", body.index('id="err-port"'))]
    assert "reserved" in port_slot
    env_slot = body[body.index('id="err-env-0-name"') : body.index("</ul>", body.index('id="err-env-0-name"'))]
    assert "variable name" in env_slot
    assert "2 problems" in body


def test_errors_without_a_field_are_shown_above_the_form(client, alice, team):
    data = flask_form(client, alice)
    data["extra"] = [json.dumps({"autoscaler": {"min": 5, "max": 1, "strategies": {"qps": 10}}})]
    body = client.post(reverse("service-preview"), data, headers=HTMX).content.decode()
    general = body[body.index('id="general-errors"') :]
    assert "autoscaler" in general[: general.index("</div>")]


def test_the_preview_masks_secrets(client, alice, team):
    data = flask_form(client, alice)
    data.update(registry_auth=["password"], registry_username=["bot"], registry_password=["registry-pass-123"])
    body = client.post(reverse("service-preview"), data, headers=HTMX).content.decode()
    assert "&quot;dockerAuth&quot;: &quot;****&quot;" in body
    assert "registry-pass-123" not in body and AUTH not in body


def test_the_preview_of_an_edit_form_accepts_the_masks_of_stored_secrets(client, alice, service):
    client.force_login(alice)
    data = fields_of(client.get(reverse("service-edit", args=[service.name])).content.decode())
    assert data["docker_auth"] == [spec.SECRET_MASK]
    body = client.post(reverse("service-preview"), data, headers=HTMX).content.decode()
    assert "valid" in body and "masked value" not in body
    assert "registry-pass" not in body and "git-pass-456" not in body


def test_adding_a_variable_row_answers_htmx_with_the_editor_only(client, alice, team):
    data = flask_form(client, alice)
    response = client.post(reverse("service-create"), {**data, "op": "add-env"}, headers=HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'id="editor"' in body
    assert 'name="env-1-name"' in body and value_of(body, "env-0-name") == "MODEL_DIR"


def test_rows_work_without_javascript_too(client, alice, team):
    data = flask_form(client, alice)
    body = client.post(reverse("service-create"), {**data, "op": "add-storage"}).content.decode()
    assert "<html" in body and 'name="storage-0-mount_path"' in body


# --- import ----------------------------------------------------------------------------------


def test_pasting_a_config_fills_every_field(client, alice, team):
    data = flask_form(client, alice)
    assert data["name"] == ["flask_demo"]
    assert data["image"] == ["registry.example.com/team/flask-app:1.0"]
    assert data["entry"] == ["command"] and data["command"] == ["python app.py"]
    assert data["port"] == ["8000"] and data["instance"] == ["2"] and data["memory"] == ["512"]
    assert (data["env-0-name"], data["env-0-value"]) == (["MODEL_DIR"], ["/models"])
    assert data["requirements"] == ["flask==3.0.3"]
    assert data["hc_type"] == ["http_get"] and data["hc_path"] == ["/hello/model"] and data["hc_port"] == ["8000"]
    assert data["hc_failure_threshold"] == ["3"]
    assert data["extra"] == [""]


def test_uploading_a_file_fills_the_form_and_keeps_unknown_keys(client, alice, team):
    client.force_login(alice)
    config = {**FLASK_CONFIG, "labels": {"team": "ml"}}
    upload = SimpleUploadedFile("svc.json", json.dumps(config).encode(), content_type="application/json")
    response = client.post(reverse("service-create"), {"op": "import", "import_file": upload}, headers=HTMX)
    assert response.status_code == 200
    data = fields_of(response.content.decode())
    assert data["name"] == ["flask_demo"]
    assert json.loads(data["extra"][0]) == {"labels": {"team": "ml"}}


def test_invalid_json_is_reported_with_its_line_and_column(client, alice, team):
    client.force_login(alice)
    response = client.post(reverse("service-create"), {"op": "import", "import_text": '{\n  "name": "x",\n  oops\n}'})
    assert response.status_code == 400
    assert "line 3, column 3" in response.content.decode()


def test_a_failed_import_over_htmx_keeps_what_was_typed(client, alice, team):
    data = flask_form(client, alice)
    response = client.post(reverse("service-create"), {**data, "op": "import", "import_text": "[1,"}, headers=HTMX)
    assert response.status_code == 200  # htmx only swaps 2xx
    body = response.content.decode()
    assert "Import failed" in body and value_of(body, "image") == "registry.example.com/team/flask-app:1.0"


def test_an_invalid_config_is_imported_as_far_as_it_goes_with_its_errors(client, alice, team):
    config = copy.deepcopy(FLASK_CONFIG)
    config["containers"][0]["port"] = 8080
    config["metadata"]["instance"] = -1
    client.force_login(alice)
    body = client.post(reverse("service-create"), {"op": "import", "import_text": json.dumps(config)}).content.decode()
    assert value_of(body, "port") == "8080" and value_of(body, "image") == "registry.example.com/team/flask-app:1.0"
    port_slot = body[body.index('id="err-port"') : body.index("</ul>", body.index('id="err-port"'))]
    instance_slot = body[body.index('id="err-instance"') : body.index("</ul>", body.index('id="err-instance"'))]
    assert "reserved" in port_slot and "<li>" in instance_slot


def test_importing_into_an_edit_form_keeps_the_service_name(client, alice, service):
    client.force_login(alice)
    config = {**FLASK_CONFIG, "name": "another_name"}
    url = reverse("service-edit", args=[service.name])
    body = client.post(url, {"op": "import", "import_text": json.dumps(config)}).content.decode()
    assert value_of(body, "name") == service.name


# --- download --------------------------------------------------------------------------------


def test_downloading_the_form_gives_name_json_with_secrets_masked(client, alice, team):
    data = flask_form(client, alice)
    data.update(registry_auth=["password"], registry_username=["bot"], registry_password=["registry-pass-123"])
    response = client.post(reverse("service-download"), data)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="flask_demo.json"'
    downloaded = json.loads(response.content)
    assert downloaded["dockerAuth"] == spec.SECRET_MASK
    assert downloaded["containers"][0]["port"] == 8000


def test_the_form_download_includes_typed_secrets_when_ticked(client, alice, team):
    data = flask_form(client, alice)
    data.update(registry_auth=["password"], registry_username=["bot"], registry_password=["registry-pass-123"])
    response = client.post(reverse("service-download"), {**data, "include_secrets": "on"})
    assert json.loads(response.content)["dockerAuth"] == AUTH


def test_a_saved_service_downloads_masked_and_owners_can_ask_for_secrets(client, alice, service):
    client.force_login(alice)
    masked = client.get(reverse("service-download", args=[service.name]))
    assert masked["Content-Disposition"] == f'attachment; filename="{service.name}.json"'
    assert json.loads(masked.content)["dockerAuth"] == spec.SECRET_MASK
    revealed = json.loads(client.get(reverse("service-download", args=[service.name]), {"secrets": "1"}).content)
    assert revealed["dockerAuth"] == AUTH
    assert revealed["storage"][0]["git"]["password"] == "git-pass-456"


def test_developers_download_but_not_with_secrets(client, team, service, django_user_model):
    dev = django_user_model.objects.create_user("dana", password="x-password-1")
    Membership.objects.create(workspace=team, user=dev, role="developer")
    client.force_login(dev)
    assert client.get(reverse("service-download", args=[service.name])).status_code == 200
    assert client.get(reverse("service-download", args=[service.name]), {"secrets": "1"}).status_code == 403


# --- save ------------------------------------------------------------------------------------


def test_saving_the_form_creates_the_service_and_shows_it(client, alice, team):
    data = flask_form(client, alice)
    response = client.post(reverse("service-create"), {**data, "op": "save"})
    assert response.status_code == 302
    assert response["Location"] == reverse("service-detail", args=["flask_demo"])
    saved = service_config(service=Service.objects.get(name="flask_demo"))
    assert spec.canonical_json(saved) == spec.canonical_json(spec.validate_config(FLASK_CONFIG).config)


def test_a_rejected_save_shows_errors_next_to_fields(client, alice, team):
    data = flask_form(client, alice)
    data["port"] = ["9090"]
    response = client.post(reverse("service-create"), {**data, "op": "save"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "reserved" in body[body.index('id="err-port"') :][:400]
    assert not Service.objects.filter(name="flask_demo").exists()


def test_a_missing_saved_credential_is_reported_by_the_save(client, alice, team):
    data = flask_form(client, alice)
    data.update(registry_auth=["credential"], registry_credential=["nope"])
    response = client.post(reverse("service-create"), {**data, "op": "save"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "no registry credential named" in body[body.index('id="err-registry_credential"') :][:400]


def test_a_taken_name_is_reported_next_to_the_name(client, alice, team, service):
    data = flask_form(client, alice)
    data["name"] = [service.name]
    body = client.post(reverse("service-create"), {**data, "op": "save"}).content.decode()
    assert "is taken" in body[body.index('id="err-name"') :][:400]


def test_masked_secrets_sent_back_keep_the_stored_values(client, alice, service):
    client.force_login(alice)
    url = reverse("service-edit", args=[service.name])
    data = fields_of(client.get(url).content.decode())
    assert data["docker_auth"] == [spec.SECRET_MASK]
    assert data["storage-0-git_password"] == [spec.SECRET_MASK]
    data["image"] = ["registry.example.com/team/flask-app:2.0"]
    response = client.post(url, {**data, "op": "save"})
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.latest_version_number == 2
    stored = service_config(service=service, reveal_secrets=True)
    assert stored["dockerAuth"] == AUTH
    assert stored["storage"][0]["git"]["password"] == "git-pass-456"
    assert stored["containers"][0]["image"].endswith(":2.0")


def test_saving_an_unchanged_edit_form_makes_no_new_version(client, alice, service):
    client.force_login(alice)
    url = reverse("service-edit", args=[service.name])
    data = fields_of(client.get(url).content.decode())
    assert client.post(url, {**data, "op": "save"}).status_code == 302
    assert ServiceVersion.objects.filter(service=service).count() == 1


def test_every_error_slot_on_the_page_is_answered_by_the_preview(client, alice, team):
    """The preview clears or fills each slot out of band; a slot it does not know would keep stale errors."""
    config = {**FLASK_CONFIG, "storage": [{"mount_path": "/m", "oss": {"path": "oss://b/"}}]}
    client.force_login(alice)
    page = client.post(reverse("service-create"), {"op": "import", "import_text": json.dumps(config)}).content.decode()
    on_page = set(re.findall(r'id="err-([^"]+)"', page))
    preview = client.post(reverse("service-preview"), fields_of(page), headers=HTMX).content.decode()
    answered = set(re.findall(r'id="err-([^"]+)" hx-swap-oob="true"', preview))
    assert on_page == answered
    assert {"storage-0-oss_path", "env-0-name", "hc_failure_threshold"} <= on_page
