"""A git URL with a user name and password: stored without them, the password never shown (security review)."""

import pytest

from deployments.actions.services import service_config
from deployments.models import Service

pytestmark = pytest.mark.django_db

REPO = "https://robot:s3cret-pw@git.example.com/team/repo.git"


def test_a_credentialed_git_url_is_stored_clean_and_its_password_masked_for_every_reader(
    alice_api, bob_api, team, flask_config
):
    flask_config["storage"] = [{"mount_path": "/code", "git": {"repo": REPO}}]

    created = alice_api.post(f"/api/v1/services?workspace={team.slug}", flask_config, format="json")

    assert created.status_code == 201
    assert any(w["path"] == "storage[0].git.repo" for w in created.json()["warnings"])
    for client in (alice_api, bob_api):
        shown = client.get("/api/v1/services/flask_demo")
        assert shown.status_code == 200
        assert "s3cret-pw" not in shown.content.decode()
        assert shown.json()["config"]["storage"][0]["git"] == {
            "repo": "https://git.example.com/team/repo.git",
            "username": "robot",
            "password": "****",
        }
    stored = service_config(service=Service.objects.get(name="flask_demo"), reveal_secrets=True)
    assert stored["storage"][0]["git"]["password"] == "s3cret-pw"
