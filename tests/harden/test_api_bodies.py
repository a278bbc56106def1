"""API request bodies are bounded: too large → 413 JSON, too deeply nested → 400 JSON."""

import pytest


@pytest.mark.django_db
def test_a_body_over_the_limit_is_refused_with_413_json(alice_api, team, settings):
    settings.BERTH_API_MAX_BODY = 1000
    body = '{"name": "x", "pad": "' + "a" * 2000 + '"}'
    response = alice_api.post("/api/v1/services/validate", body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.json()["detail"]


@pytest.mark.django_db
def test_a_body_under_the_limit_is_parsed(alice_api, team, flask_config):
    response = alice_api.post("/api/v1/services/validate", flask_config, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_deeply_nested_json_is_a_400_not_a_500(alice_api, team):
    body = "[" * 50_000 + "]" * 50_000
    response = alice_api.post("/api/v1/services/validate", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in str(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=99999999999999999999999", "offset=99999999999999999999999", "limit=-1"])
def test_huge_pagination_values_are_not_a_server_error(alice_api, team, query):
    response = alice_api.get(f"/api/v1/services?{query}")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/api-keys", "/api/v1/workspaces", "/api/v1/workspaces/team-a/members"])
@pytest.mark.parametrize("body", ["null", "[null, null]", '"text"', "3"])
def test_a_body_that_is_not_an_object_is_a_400(alice_api, team, path, body):
    response = alice_api.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "expected a JSON object" in str(response.json())
