"""Importing a config nested past Python's JSON parser limit is a form error (400), not a 500."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_importing_json_nested_too_deeply_is_reported_not_a_server_error(client, alice, team):
    client.force_login(alice)
    text = '{"labels": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}"

    response = client.post(reverse("service-create"), {"op": "import", "import_text": text})

    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
