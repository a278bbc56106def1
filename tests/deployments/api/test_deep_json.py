"""A config nested too deeply is a 400 with a sentence, through every API door that takes a config.

Python's JSON parser raises RecursionError (not ValueError) past ~1000 levels; before the fix
that escaped DRF's parser as a 500.
"""

import pytest

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    return '{"name": "deep_one", "labels": ' + '{"a": ' * depth + '"x"' + "}" * depth + "}"


def post_raw(client, url: str, body: str):
    return client.generic("POST", url, body, content_type="application/json")


@pytest.mark.parametrize("depth", [2_000, 100_000])
@pytest.mark.parametrize("url", ["/api/v1/services/validate", "/api/v1/services"])
def test_a_body_nested_past_the_parser_limit_is_a_400_with_a_message(alice_api, team, url, depth):
    response = post_raw(alice_api, f"{url}?workspace={team.slug}", nested(depth))

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == ""
    assert "nested too deeply" in error["message"]


def test_a_patch_nested_past_the_parser_limit_is_a_400_too(alice_api, team, flask_config):
    assert alice_api.post(f"/api/v1/services?workspace={team.slug}", flask_config, format="json").status_code == 201
    response = alice_api.generic("PATCH", "/api/v1/services/flask_demo", nested(5_000), content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["message"]


def test_a_body_the_parser_takes_but_the_spec_finds_too_deep_is_a_400_at_its_path(alice_api, team):
    response = post_raw(alice_api, f"/api/v1/services/validate?workspace={team.slug}", nested(100))

    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["errors"] if e["path"].startswith("labels")]
    assert any("nested too deeply" in message for message in messages)


def test_ordinary_json_still_parses(alice_api, team):
    response = post_raw(alice_api, f"/api/v1/services/validate?workspace={team.slug}", nested(3))
    assert response.status_code == 400  # the config lacks containers: the spec says so, the parser did its job
    assert {e["path"] for e in response.json()["errors"]} >= {"containers"}
