"""The REST API, against the real Django stack (SQLite test DB), with the three personas."""

import base64
import json

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from deployments.actions.services import service_config, service_create
from deployments.actions.workspaces import workspace_create
from deployments.choices import Role
from deployments.models import ApiKey, Membership, RegistryCredential, Service, ServiceVersion
from tests.conftest import FLASK_CONFIG

pytestmark = pytest.mark.django_db


def create(client, config, **params):
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return client.post(f"/api/v1/services{query}", config, format="json")


# --- validate --------------------------------------------------------------------------------


def test_validate_returns_the_normalised_config_and_warnings(alice_api, flask_config):
    flask_config["cloud"] = {"networking": {"vpc_id": "vpc-1"}}
    response = alice_api.post("/api/v1/services/validate", flask_config, format="json")
    assert response.status_code == 200
    assert response.json()["config"]["name"] == "flask_demo"
    assert any(w["path"] == "cloud" for w in response.json()["warnings"])


def test_validate_rejects_port_8080_with_its_path(alice_api, flask_config):
    flask_config["containers"][0]["port"] = 8080
    response = alice_api.post("/api/v1/services/validate", flask_config, format="json")
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["containers[0].port"]


def test_validate_answers_malformed_json_with_a_400_not_a_500(alice_api):
    response = alice_api.generic(
        "POST", "/api/v1/services/validate", '{"name": "x", "containers": [', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("body", ["[]", '"a string"', "null", "42", '{"containers": {"a": 1}}'])
def test_validate_answers_non_objects_with_errors(alice_api, body):
    response = alice_api.generic("POST", "/api/v1/services/validate", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_validate_needs_a_login():
    response = APIClient().post("/api/v1/services/validate", FLASK_CONFIG, format="json")
    assert response.status_code in (401, 403)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
config_keys = st.sampled_from(
    ["name", "containers", "metadata", "storage", "dockerAuth", "token", "berth", "cloud", "labels", "autoscaler"]
)


def mutated_configs():
    """Valid configs with one key replaced by junk: closer to real mistakes than random JSON."""
    return st.tuples(config_keys, json_values).map(lambda kv: {**FLASK_CONFIG, kv[0]: kv[1]})


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, st.dictionaries(config_keys, json_values, max_size=6), mutated_configs()))
def test_validate_never_answers_500_to_generated_bodies(alice_api, body):
    response = alice_api.generic("POST", "/api/v1/services/validate", json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        for error in response.json()["errors"]:
            assert isinstance(error["path"], str) and error["message"]


# --- create / describe -----------------------------------------------------------------------


def test_create_saves_version_1_and_returns_the_token_to_the_owner(alice_api, team, flask_config):
    response = create(alice_api, flask_config, workspace=team.slug)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "Creating"
    assert body["current_version"] == 1
    assert body["token"]
    assert body["endpoints"]["internet"].endswith("/api/predict/flask_demo")
    assert Service.objects.get(name="flask_demo").workspace == team


def test_create_uses_the_token_given_in_the_config(alice_api, team, flask_config):
    flask_config["token"] = "my-own-token-123"
    body = create(alice_api, flask_config, workspace=team.slug).json()
    assert body["token"] == "my-own-token-123"
    assert "token" not in body["config"] or body["config"]["token"] == "****"


def test_create_goes_to_the_current_workspace_by_default(alice_api, alice, flask_config):
    response = create(alice_api, flask_config)
    assert response.status_code == 201
    assert Service.objects.get(name="flask_demo").workspace.memberships.filter(user=alice, role=Role.OWNER).exists()


def test_a_taken_name_is_refused_without_revealing_the_other_service(alice_api, charlie_api, team, flask_config):
    assert create(alice_api, flask_config, workspace=team.slug).status_code == 201
    response = create(charlie_api, flask_config)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors == [{"path": "name", "message": "the name 'flask_demo' is taken; choose another"}]
    assert "team" not in json.dumps(response.json())


def test_viewers_cannot_create_services(bob_api, team, flask_config):
    assert create(bob_api, flask_config, workspace=team.slug).status_code == 403


def test_outsiders_cannot_create_in_a_workspace_they_are_not_in(charlie_api, team, flask_config):
    assert create(charlie_api, flask_config, workspace=team.slug).status_code == 404


def test_owner_and_viewer_can_describe_but_only_the_owner_sees_the_token(alice_api, bob_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    owner_view = alice_api.get("/api/v1/services/flask_demo").json()
    viewer_view = bob_api.get("/api/v1/services/flask_demo").json()
    assert owner_view["token"]
    assert "token" not in viewer_view
    assert viewer_view["config"]["containers"][0]["image"] == FLASK_CONFIG["containers"][0]["image"]


def test_outsiders_get_404_for_everything_about_a_service(alice_api, charlie_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    for method, path in [
        ("get", "/api/v1/services/flask_demo"),
        ("put", "/api/v1/services/flask_demo"),
        ("patch", "/api/v1/services/flask_demo"),
        ("delete", "/api/v1/services/flask_demo"),
        ("get", "/api/v1/services/flask_demo/versions"),
    ]:
        response = getattr(charlie_api, method)(
            path, flask_config if method in ("put", "patch") else None, format="json"
        )
        assert response.status_code == 404, (method, path)
    assert charlie_api.get("/api/v1/services").json()["count"] == 0


def test_viewers_cannot_change_or_delete(alice_api, bob_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    assert bob_api.put("/api/v1/services/flask_demo", flask_config, format="json").status_code == 403
    assert bob_api.patch("/api/v1/services/flask_demo", {"metadata.instance": 3}, format="json").status_code == 403
    assert bob_api.delete("/api/v1/services/flask_demo").status_code == 403
    assert Service.objects.get(name="flask_demo").instance == 2


# --- modify ----------------------------------------------------------------------------------


def test_patching_only_the_instance_count_scales_without_a_new_version(alice_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    response = alice_api.patch("/api/v1/services/flask_demo", {"metadata.instance": 4}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["new_version"] is False
    assert response.json()["config"]["metadata"]["instance"] == 4
    assert ServiceVersion.objects.filter(service__name="flask_demo").count() == 1


def test_a_merge_patch_of_env_makes_a_new_version_and_replaces_arrays_whole(alice_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    patch = {"containers": [{**FLASK_CONFIG["containers"][0], "env": [{"name": "A", "value": "1"}]}]}
    body = alice_api.patch("/api/v1/services/flask_demo", patch, format="json").json()
    assert body["new_version"] is True
    assert body["current_version"] == 2
    assert body["config"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]


def test_dotted_keys_with_indexes_set_one_value(alice_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    body = alice_api.patch(
        "/api/v1/services/flask_demo", {"containers[0].image": "registry.example.com/team/flask-app:2.0"}, format="json"
    ).json()
    assert body["config"]["containers"][0]["image"] == "registry.example.com/team/flask-app:2.0"
    assert body["current_version"] == 2


def test_a_patch_that_breaks_the_config_is_refused_with_the_path(alice_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    response = alice_api.patch("/api/v1/services/flask_demo", {"containers[0].port": 9090}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "containers[0].port"
    assert Service.objects.get(name="flask_demo").latest_version_number == 1


def test_a_masked_docker_auth_sent_back_keeps_the_stored_value(alice_api, team, flask_config):
    auth = base64.b64encode(b"robot:s3cret-pass").decode()
    flask_config["dockerAuth"] = auth
    create(alice_api, flask_config, workspace=team.slug)
    shown = alice_api.get("/api/v1/services/flask_demo").json()["config"]
    assert shown["dockerAuth"] == "****"
    shown["metadata"]["cpu"] = 2
    body = alice_api.put("/api/v1/services/flask_demo", shown, format="json").json()
    assert body["new_version"] is True
    service = Service.objects.get(name="flask_demo")
    assert service_config(service=service, reveal_secrets=True)["dockerAuth"] == auth


def test_a_service_cannot_be_renamed(alice_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    response = alice_api.put("/api/v1/services/flask_demo", {**flask_config, "name": "other_name"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "name"


def test_versions_are_listed_newest_first(alice_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    alice_api.patch("/api/v1/services/flask_demo", {"metadata.cpu": 2}, format="json")
    versions = alice_api.get("/api/v1/services/flask_demo/versions").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["current"] is True
    assert versions[1]["config"]["metadata"].get("cpu") == 1


def test_delete_removes_the_service(alice_api, team, flask_config):
    create(alice_api, flask_config, workspace=team.slug)
    assert alice_api.delete("/api/v1/services/flask_demo").status_code == 204
    assert not Service.objects.filter(name="flask_demo").exists()
    assert alice_api.get("/api/v1/services/flask_demo").status_code == 404


# --- secrets at rest -------------------------------------------------------------------------


def test_secrets_are_encrypted_at_rest(alice, team, flask_config):
    flask_config["dockerAuth"] = base64.b64encode(b"robot:plain-text-password").decode()
    flask_config["token"] = "token-in-clear-text"
    service_create(actor=alice, workspace=team, config=flask_config)
    RegistryCredential.objects.create(
        workspace=team, name="reg", registry="r.example.com", username="u", password="registry-password-xyz"
    )
    with connection.cursor() as cursor:
        dump = []
        for table in ("deployments_service", "deployments_serviceversion", "deployments_registrycredential"):
            cursor.execute(f"SELECT * FROM {table}")
            dump.append(repr(cursor.fetchall()))
    dump = "\n".join(dump)
    assert flask_config["dockerAuth"] not in dump
    assert "token-in-clear-text" not in dump
    assert "registry-password-xyz" not in dump


# --- list ------------------------------------------------------------------------------------


def test_the_list_filters_by_search_status_and_workspace(alice, alice_api, team, flask_config):
    other = workspace_create(name="other", owner=alice)
    for name, workspace in [("alpha_one", team), ("alpha_two", other), ("beta_one", team)]:
        service_create(actor=alice, workspace=workspace, config={**flask_config, "name": name})
    names = lambda r: [s["name"] for s in r.json()["results"]]  # noqa: E731
    assert names(alice_api.get("/api/v1/services?search=alpha")) == ["alpha_one", "alpha_two"]
    assert names(alice_api.get(f"/api/v1/services?workspace={team.slug}")) == ["alpha_one", "beta_one"]
    assert names(alice_api.get("/api/v1/services?status=Running")) == []
    assert alice_api.get("/api/v1/services?limit=1").json()["count"] == 3


def test_the_list_query_count_does_not_grow_with_rows(
    alice, alice_api, team, flask_config, django_assert_max_num_queries
):
    for i in range(3):
        service_create(actor=alice, workspace=team, config={**flask_config, "name": f"svc_{i:03d}"})
    with django_assert_max_num_queries(8) as small:
        alice_api.get("/api/v1/services")
    for i in range(3, 40):
        service_create(actor=alice, workspace=team, config={**flask_config, "name": f"svc_{i:03d}"})
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(alice_api.get("/api/v1/services").json()["results"]) == 40


# --- API keys --------------------------------------------------------------------------------


def test_an_api_key_made_by_the_command_authenticates(alice, team, flask_config, capsys):
    call_command("create_api_key", "alice")
    key = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.post(f"/api/v1/services?workspace={team.slug}", flask_config, format="json").status_code == 201
    stored = ApiKey.objects.get(user=alice)
    assert key not in stored.key_hash and stored.last_used_at is not None


def test_a_wrong_api_key_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer berth_not-a-real-key")
    assert client.get("/api/v1/services").status_code == 401


def test_api_keys_are_shown_once_and_revocable(alice_api, bob_api):
    made = alice_api.post("/api/v1/api-keys", {"name": "laptop"}, format="json").json()
    assert made["key"].startswith("berth_")
    listed = alice_api.get("/api/v1/api-keys").json()["results"]
    assert listed[0]["name"] == "laptop" and "key" not in listed[0]
    assert bob_api.delete(f"/api/v1/api-keys/{made['id']}").status_code == 404
    assert alice_api.delete(f"/api/v1/api-keys/{made['id']}").status_code == 204
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made['key']}")
    assert client.get("/api/v1/services").status_code == 401


# --- workspaces, members, credentials --------------------------------------------------------


def test_owners_manage_members_and_viewers_cannot(alice_api, bob_api, charlie, team):
    url = f"/api/v1/workspaces/{team.slug}/members"
    assert bob_api.post(url, {"username": "charlie", "role": "viewer"}, format="json").status_code == 403
    assert alice_api.post(url, {"username": "charlie", "role": "developer"}, format="json").status_code == 200
    assert Membership.objects.get(workspace=team, user=charlie).role == Role.DEVELOPER
    assert alice_api.delete(f"{url}/charlie").status_code == 204
    assert not Membership.objects.filter(workspace=team, user=charlie).exists()


def test_the_last_owner_cannot_leave_or_be_demoted(alice_api, team):
    url = f"/api/v1/workspaces/{team.slug}/members"
    assert alice_api.post(url, {"username": "alice", "role": "viewer"}, format="json").status_code == 409
    assert alice_api.delete(f"{url}/alice").status_code == 409


def test_outsiders_cannot_see_a_workspace(charlie_api, team):
    assert charlie_api.get(f"/api/v1/workspaces/{team.slug}/members").status_code == 404
    assert charlie_api.get(f"/api/v1/workspaces/{team.slug}/registry-credentials").status_code == 404
    assert team.slug not in json.dumps(charlie_api.get("/api/v1/workspaces").json())


def test_registry_credentials_never_return_the_password(alice_api, bob_api, team):
    url = f"/api/v1/workspaces/{team.slug}/registry-credentials"
    body = {"name": "private", "registry": "127.0.0.1:5000", "username": "robot", "password": "hunter2-long"}
    assert bob_api.post(url, body, format="json").status_code == 403
    assert alice_api.post(url, body, format="json").json()["password"] == "****"
    listed = bob_api.get(url).json()["results"]
    assert listed == [{"name": "private", "registry": "127.0.0.1:5000", "username": "robot", "password": "****"}]
    assert "hunter2-long" not in json.dumps(listed)


def test_a_config_can_name_a_saved_credential_of_its_workspace_only(alice_api, team, flask_config):
    flask_config["berth"] = {"registry_credential": "private"}
    response = create(alice_api, flask_config, workspace=team.slug)
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "berth.registry_credential"
    alice_api.post(
        f"/api/v1/workspaces/{team.slug}/registry-credentials",
        {"name": "private", "registry": "127.0.0.1:5000", "username": "robot", "password": "pw-long-enough"},
        format="json",
    )
    assert create(alice_api, flask_config, workspace=team.slug).status_code == 201


# --- schemas ---------------------------------------------------------------------------------


def test_the_openapi_schema_builds_and_lists_the_service_endpoints():
    response = APIClient().get("/api/v1/openapi.json")
    # The schema view needs no login to read? It does: DRF default permission applies.
    assert response.status_code in (200, 401, 403)
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_openapi_schema_names_every_service_route(alice_api):
    paths = alice_api.get("/api/v1/openapi.json", HTTP_ACCEPT="application/json").json()["paths"]
    for route in [
        "/api/v1/services",
        "/api/v1/services/validate",
        "/api/v1/services/{name}",
        "/api/v1/services/{name}/versions",
    ]:
        assert route in paths


def test_the_service_config_json_schema_is_public():
    response = APIClient().get("/api/v1/schema/service-config.json")
    assert response.status_code == 200
    assert "containers" in response.json()["properties"]


def test_a_name_that_is_an_api_route_is_refused(alice_api, team, flask_config):
    response = create(alice_api, {**flask_config, "name": "validate"}, workspace=team.slug)
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "name"


def test_a_grpc_service_shows_its_grpc_target(alice_api, team, flask_config):
    flask_config["metadata"]["enable_grpc"] = True
    flask_config["name"] = "grpc_demo"
    body = create(alice_api, flask_config, workspace=team.slug).json()
    assert body["endpoints"]["grpc"].startswith("grpc-demo.")
    plain = create(alice_api, {**FLASK_CONFIG, "name": "plain_demo"}, workspace=team.slug).json()
    assert plain["endpoints"]["grpc"] == ""
