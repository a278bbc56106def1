"""One validation for every door: a config `POST /services/validate` accepts is one create accepts.

Each workspace-aware rule (the spec alone cannot know it) is checked through both doors with the
same config, so validate can never say yes where create says no.
"""

import pytest

from deployments.actions.credentials import registry_credential_create
from tests.conftest import FLASK_CONFIG

pytestmark = pytest.mark.django_db


def both_doors(client, config, **params):
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    validated = client.post(f"/api/v1/services/validate{query}", config, format="json")
    created = client.post(f"/api/v1/services{query}", config, format="json")
    return validated, created


def flask(**changes) -> dict:
    config = {**FLASK_CONFIG, **changes}
    config["containers"] = [dict(FLASK_CONFIG["containers"][0])]
    return config


def error_paths(response) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


def test_a_reserved_name_is_refused_by_validate_as_by_create(alice, alice_api):
    validated, created = both_doors(alice_api, flask(name="validate"))
    assert validated.status_code == created.status_code == 400
    assert error_paths(validated) == error_paths(created) == ["name"]


def test_a_saved_credential_that_does_not_exist_is_refused_by_both(alice, alice_api):
    config = flask(berth={"registry_credential": "nope"})
    validated, created = both_doors(alice_api, config)
    assert validated.status_code == created.status_code == 400
    assert error_paths(validated) == error_paths(created) == ["berth.registry_credential"]


def test_a_saved_credential_that_exists_is_accepted_by_both(alice, team, alice_api):
    registry_credential_create(
        actor=alice, workspace=team, name="corp", registry="registry.example.com", username="u", password="p"
    )
    validated, created = both_doors(alice_api, flask(berth={"registry_credential": "corp"}), workspace=team.slug)
    assert (validated.status_code, created.status_code) == (200, 201)


def test_a_missing_object_store_is_refused_by_both(alice, alice_api):
    config = flask(
        storage=[{"mount_path": "/models", "oss": {"path": "oss://bucket/m/"}, "berth": {"object_store": "s3"}}]
    )
    validated, created = both_doors(alice_api, config)
    assert validated.status_code == created.status_code == 400
    assert error_paths(validated) == error_paths(created) == ["storage[0].berth.object_store"]


def test_a_host_path_outside_the_roots_is_refused_by_both(alice, alice_api, settings):
    settings.BERTH_HOST_PATH_ROOTS = ["/srv/models"]
    config = flask(storage=[{"mount_path": "/data", "berth": {"host_path": "/etc"}}])
    validated, created = both_doors(alice_api, config)
    assert validated.status_code == created.status_code == 400
    assert error_paths(validated) == error_paths(created) == ["storage[0].berth.host_path"]


def test_a_host_path_inside_the_roots_is_accepted_by_both(alice, alice_api, settings):
    settings.BERTH_HOST_PATH_ROOTS = ["/srv/models"]
    config = flask(storage=[{"mount_path": "/data", "berth": {"host_path": "/srv/models/a"}}])
    validated, created = both_doors(alice_api, config)
    assert (validated.status_code, created.status_code) == (200, 201)


def test_validate_checks_against_the_workspace_it_is_given(alice, team, charlie, alice_api):
    registry_credential_create(
        actor=alice, workspace=team, name="corp", registry="registry.example.com", username="u", password="p"
    )
    config = flask(berth={"registry_credential": "corp"})
    assert alice_api.post(f"/api/v1/services/validate?workspace={team.slug}", config, format="json").status_code == 200
    # Another workspace of alice's own has no such credential.
    other = alice_api.post("/api/v1/workspaces", {"name": "other"}, format="json").json()["slug"]
    assert alice_api.post(f"/api/v1/services/validate?workspace={other}", config, format="json").status_code == 400
    # An outsider's workspace is not found, as everywhere.
    charlie_slug = charlie.memberships.first().workspace.slug
    assert (
        alice_api.post(f"/api/v1/services/validate?workspace={charlie_slug}", config, format="json").status_code == 404
    )


def test_a_taken_name_is_refused_by_validate_as_by_create(alice, alice_api):
    assert alice_api.post("/api/v1/services", flask(), format="json").status_code == 201
    validated, created = both_doors(alice_api, flask())
    assert validated.status_code == created.status_code == 400
    assert error_paths(validated) == error_paths(created) == ["name"]
