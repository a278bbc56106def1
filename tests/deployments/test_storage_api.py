"""Storage without Docker: the spec's storage rules, the checks that need settings or the workspace,
object-store connections (actions, API, pages) and the mounts endpoint."""

import pytest
from django.urls import reverse

from deployments import spec
from deployments.actions import object_stores, services
from deployments.choices import InstanceStatus
from deployments.errors import ConfigInvalid, Forbidden
from deployments.models import Instance, Service
from deployments.models.storage import InstanceMount, ObjectStore
from deployments.storage import checks as storage_checks
from tests.conftest import FLASK_CONFIG

KEYS = {"access_key_id": "AKIAEXAMPLEKEY123456", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"}


def with_storage(*entries, **top) -> dict:
    return {**FLASK_CONFIG, "storage": list(entries), **top}


# --- the spec ---------------------------------------------------------------------------------------


def test_a_host_path_is_a_berth_extension_of_a_storage_entry():
    result = spec.validate_config(
        with_storage({"mount_path": "/data", "berth": {"host_path": "/srv/models", "readOnly": True}})
    )
    assert result.ok and result.warnings == []
    assert result.config["storage"] == [
        {"mount_path": "/data", "berth": {"host_path": "/srv/models", "readOnly": True}}
    ]


@pytest.mark.parametrize(
    "host_path, message",
    [
        (
            "/var/run/docker.sock",
            "the Docker socket (/var/run/docker.sock) and directories holding it are never mounted",
        ),
        ("/run", "the Docker socket (/run/docker.sock) and directories holding it are never mounted"),
        ("/srv/x/docker.sock", "are never mounted"),
        ("/", "cannot mount the host's root /"),
        ("/srv/../etc", "must be a normalised path"),
        ("srv/models", "must be an absolute path"),
    ],
)
def test_the_docker_socket_and_odd_host_paths_are_refused_whatever_the_allow_list(host_path, message):
    result = spec.validate_config(with_storage({"mount_path": "/data", "berth": {"host_path": host_path}}))
    assert [e["path"] for e in result.errors] == ["storage[0].berth.host_path"]
    assert message in result.errors[0]["message"]


def test_a_host_path_is_one_mount_type_and_berth_keys_belong_to_their_type():
    both = spec.validate_config(with_storage({"mount_path": "/d", "empty_dir": {}, "berth": {"host_path": "/srv"}}))
    assert both.errors[0]["message"].endswith("or berth.host_path (found empty_dir, berth.host_path)")
    stray = spec.validate_config(
        with_storage({"mount_path": "/d", "empty_dir": {}, "berth": {"object_store": "s", "readOnly": True}})
    )
    assert {e["path"] for e in stray.errors} == {"storage[0].berth.object_store", "storage[0].berth.readOnly"}


def test_the_object_store_can_be_named_for_the_config_or_for_one_mount():
    config = with_storage(
        {"mount_path": "/m", "oss": {"path": "oss://b/m/"}, "berth": {"object_store": "minio"}},
        berth={"object_store": "oss-hz"},
    )
    result = spec.validate_config(config)
    assert result.ok and result.config["berth"] == {"object_store": "oss-hz"}
    assert "object_store" in spec.service_config_json_schema()["$defs"]["BerthOptions"]["properties"]


# --- checks that need the settings or the workspace -------------------------------------------------


def test_host_paths_are_off_until_an_administrator_allows_roots(settings, team):
    settings.BERTH_HOST_PATH_ROOTS = []
    config = with_storage({"mount_path": "/d", "berth": {"host_path": "/srv/models"}})
    assert storage_checks.config_problems(config, workspace=team) == [
        {"path": "storage[0].berth.host_path", "message": storage_checks.host_path_refusal("/srv/models")}
    ]
    assert "BERTH_HOST_PATH_ROOTS" in storage_checks.host_path_refusal("/srv/models")


def test_a_host_path_must_be_under_an_allowed_root(settings, team):
    settings.BERTH_HOST_PATH_ROOTS = ["/srv/models", "/data/shared/"]
    inside = with_storage(
        {"mount_path": "/a", "berth": {"host_path": "/srv/models/llama"}},
        {"mount_path": "/b", "berth": {"host_path": "/data/shared"}},
    )
    assert storage_checks.config_problems(inside, workspace=team) == []
    outside = with_storage({"mount_path": "/a", "berth": {"host_path": "/srv/models-other"}})
    assert storage_checks.config_problems(outside, workspace=team)[0]["message"] == (
        "/srv/models-other is not under a directory an administrator allowed (BERTH_HOST_PATH_ROOTS: /srv/models, /data/shared/)"
    )
    assert "never mounted" in storage_checks.host_path_refusal("/var/run/docker.sock", ["/"])


def test_a_named_object_store_must_exist_in_the_workspace(alice, team):
    object_stores.object_store_create(
        actor=alice, workspace=team, name="minio", endpoint_url="http://127.0.0.1:9000", **KEYS
    )
    config = with_storage(
        {"mount_path": "/m", "oss": {"path": "oss://b/m/"}, "berth": {"object_store": "minio"}},
        {"mount_path": "/n", "oss": {"path": "oss://b/n/"}, "berth": {"object_store": "nope"}},
        berth={"object_store": "gone"},
    )
    assert [e["path"] for e in storage_checks.config_problems(config, workspace=team)] == [
        "berth.object_store",
        "storage[1].berth.object_store",
    ]


# --- connections ------------------------------------------------------------------------------------


def test_connection_keys_are_encrypted_at_rest_and_the_first_one_is_the_default(alice, team):
    store = object_stores.object_store_create(
        actor=alice, workspace=team, name="oss", endpoint_url="https://oss-cn-hangzhou.aliyuncs.com/", **KEYS
    )
    assert store.is_default and store.endpoint_url == "https://oss-cn-hangzhou.aliyuncs.com"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_key_id, secret_access_key FROM deployments_objectstore WHERE id = %s", [store.pk])
        stored = cursor.fetchone()
    assert KEYS["access_key_id"] not in stored[0] and KEYS["secret_access_key"] not in stored[1]
    second = object_stores.object_store_create(
        actor=alice, workspace=team, name="minio", endpoint_url="http://minio:9000", is_default=True, **KEYS
    )
    assert second.is_default and not ObjectStore.objects.get(pk=store.pk).is_default


@pytest.mark.parametrize(
    "endpoint, message",
    [
        ("minio:9000", "with its scheme"),
        ("https://user:pw@oss.example.com", "not in the URL"),
        ("https://oss.example.com/bucket", "only scheme, host and port"),
    ],
)
def test_a_connection_needs_a_plain_endpoint_url(alice, team, endpoint, message):
    with pytest.raises(ConfigInvalid) as invalid:
        object_stores.object_store_create(actor=alice, workspace=team, name="x", endpoint_url=endpoint, **KEYS)
    assert invalid.value.errors[0]["path"] == "endpoint_url" and message in invalid.value.errors[0]["message"]


def test_viewers_cannot_save_connections(bob, team):
    with pytest.raises(Forbidden):
        object_stores.object_store_create(actor=bob, workspace=team, name="x", endpoint_url="http://m:9000", **KEYS)


# --- API --------------------------------------------------------------------------------------------


def test_the_api_saves_lists_and_never_returns_the_keys(alice_api, team):
    url = reverse("api-object-stores", args=[team.slug])
    created = alice_api.post(
        url,
        {"name": "minio", "endpoint_url": "http://127.0.0.1:9000", "addressing_style": "path", **KEYS},
        format="json",
    )
    assert created.status_code == 201
    listed = alice_api.get(url).json()["results"]
    assert listed == [{**created.json(), "created_at": listed[0]["created_at"]}]
    assert listed[0]["access_key_id"] == "****3456" and listed[0]["secret_access_key"] == "****"
    assert KEYS["secret_access_key"] not in alice_api.get(url).content.decode()
    # A masked key sent back keeps the stored one.
    patched = alice_api.patch(
        reverse("api-object-store", args=[team.slug, "minio"]),
        {"region": "eu-1", "access_key_id": "****3456"},
        format="json",
    )
    assert patched.status_code == 200 and ObjectStore.objects.get(name="minio").access_key_id == KEYS["access_key_id"]
    assert alice_api.delete(reverse("api-object-store", args=[team.slug, "minio"])).status_code == 204


def test_the_api_answers_each_persona_by_role(alice, alice_api, bob_api, charlie_api, team):
    object_stores.object_store_create(actor=alice, workspace=team, name="minio", endpoint_url="http://m:9000", **KEYS)
    url = reverse("api-object-stores", args=[team.slug])
    body = {"name": "other", "endpoint_url": "http://m:9000", **KEYS}
    assert bob_api.get(url).status_code == 200
    assert bob_api.post(url, body, format="json").status_code == 403
    assert bob_api.delete(reverse("api-object-store", args=[team.slug, "minio"])).status_code == 403
    assert bob_api.post(reverse("api-object-store-check", args=[team.slug, "minio"])).status_code == 403
    assert charlie_api.get(url).status_code == 404
    assert charlie_api.get(reverse("api-object-store", args=[team.slug, "minio"])).status_code == 404
    assert alice_api.post(url, {**body, "name": "minio"}, format="json").json()["errors"][0]["path"] == "name"


def test_checking_an_unreachable_connection_says_so(alice, alice_api, team):
    from tests import stack

    endpoint = f"http://127.0.0.1:{stack.free_port()}"
    object_stores.object_store_create(actor=alice, workspace=team, name="down", endpoint_url=endpoint, **KEYS)
    result = alice_api.post(
        reverse("api-object-store-check", args=[team.slug, "down"]), {"bucket": "b"}, format="json"
    ).json()
    assert result["ok"] is False and f"cannot reach the object store at {endpoint}" in result["message"]


def _service_with_mount(alice, team) -> Service:
    service, _ = services.service_create(
        actor=alice, workspace=team, config={**FLASK_CONFIG, "name": "mounted"}, deploy=False
    )
    instance = Instance.objects.create(
        service=service,
        version=service.current_version,
        ordinal=0,
        name="berth-mounted-v1-0",
        status=InstanceStatus.RUNNING,
    )
    InstanceMount.objects.create(
        instance=instance,
        position=0,
        mount_path="/models",
        kind="oss",
        source="oss://b/m/",
        read_only=True,
        volume="berth-mounted-v1-0-1-m0",
        detail={"objects": 3, "bytes": 1200},
    )
    return service


def test_the_mounts_of_each_instance_are_listed_for_members_only(
    alice, alice_api, bob_api, charlie_api, team, django_assert_max_num_queries
):
    service = _service_with_mount(alice, team)
    url = reverse("api-service-mounts", args=[service.name])
    with django_assert_max_num_queries(8):
        body = alice_api.get(url).json()
    assert body["results"] == [
        {
            "instance": "berth-mounted-v1-0",
            "version": 1,
            "status": "Running",
            "mounts": [
                {
                    "mount_path": "/models",
                    "type": "oss",
                    "source": "oss://b/m/",
                    "read_only": True,
                    "volume": "berth-mounted-v1-0-1-m0",
                    "detail": {"objects": 3, "bytes": 1200},
                }
            ],
        }
    ]
    assert bob_api.get(url).status_code == 200
    assert charlie_api.get(url).status_code == 404


def test_the_openapi_schema_builds_with_the_storage_endpoints(alice_api):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "/api/v1/workspaces/{slug}/object-stores" in schema["paths"]


# --- pages ------------------------------------------------------------------------------------------


def test_the_connections_page_saves_one_and_shows_no_secret(client, alice, team):
    client.force_login(alice)
    page = reverse("object-store-list", args=[team.slug])
    assert "Save connection" in client.get(page).content.decode()
    data = {"name": "minio", "endpoint_url": "http://127.0.0.1:9000", "region": "", "addressing_style": "path", **KEYS}
    response = client.post(reverse("object-store-create", args=[team.slug]), data)
    assert response.status_code == 302
    shown = client.get(page).content.decode()
    assert "minio" in shown and "****3456" in shown and KEYS["secret_access_key"] not in shown
    fragment = client.get(page, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="object-stores">')


def test_the_connections_page_shows_errors_by_their_field(client, alice, team):
    client.force_login(alice)
    data = {"name": "x", "endpoint_url": "minio:9000", "addressing_style": "auto", **KEYS}
    response = client.post(reverse("object-store-create", args=[team.slug]), data)
    assert response.status_code == 400 and "with its scheme" in response.content.decode()


def test_pages_answer_each_persona_by_role(client, alice, bob, charlie, team):
    object_stores.object_store_create(actor=alice, workspace=team, name="minio", endpoint_url="http://m:9000", **KEYS)
    service = _service_with_mount(alice, team)
    client.force_login(bob)
    assert "Save connection" not in client.get(reverse("object-store-list", args=[team.slug])).content.decode()
    assert client.post(reverse("object-store-delete", args=[team.slug, "minio"])).status_code == 403
    assert "oss://b/m/" in client.get(reverse("service-mounts", args=[service.name])).content.decode()
    client.force_login(charlie)
    assert client.get(reverse("object-store-list", args=[team.slug])).status_code == 404
    assert client.get(reverse("service-mounts", args=[service.name])).status_code == 404


def test_the_service_form_keeps_host_paths_and_object_store_names():
    from tests.console.test_service_form import canonical, round_trip

    config = canonical(
        with_storage(
            {"mount_path": "/data", "berth": {"host_path": "/srv/models", "readOnly": True}},
            {"mount_path": "/m", "oss": {"path": "oss://b/m/", "readOnly": True}, "berth": {"object_store": "minio"}},
            berth={"object_store": "oss-hz"},
        )
    )
    assert round_trip(config) == config
