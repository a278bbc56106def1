"""Migration 0004 moves credentials out of the git URLs of versions stored before the spec did it.

Driven by Django's migration executor on the test database: back to 0003, rows written with the
historical models, forward again.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from deployments.actions.services import service_config
from deployments.models import Service, ServiceVersion

BEFORE = [("deployments", "0003_storage")]
AFTER = [("deployments", "0004_git_url_credentials")]


def config_with(*gits: dict) -> dict:
    return {
        "name": "old_git_service",
        "containers": [{"image": "registry.example.com/app:1", "command": "python app.py", "port": 8000}],
        "storage": [{"mount_path": f"/code{i}", "git": git} for i, git in enumerate(gits)],
        "metadata": {},
    }


@pytest.fixture
def old_apps(transactional_db):
    """The app registry as of 0003; the schema is migrated forward again afterwards."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def save_old_version(apps, config: dict, secrets: dict) -> int:
    Workspace = apps.get_model("deployments", "Workspace")
    OldService = apps.get_model("deployments", "Service")
    OldVersion = apps.get_model("deployments", "ServiceVersion")
    workspace = Workspace.objects.create(name="old", slug="old")
    service = OldService.objects.create(name=config["name"], workspace=workspace, token="t" * 32)
    version = OldVersion.objects.create(service=service, number=1, config=config, secrets=secrets)
    service.latest_version_number, service.current_version_id = 1, version.pk
    service.save()
    return version.pk


def migrate_forward():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)


def test_credentials_in_a_stored_git_url_move_to_username_and_the_encrypted_secrets(old_apps):
    pk = save_old_version(old_apps, config_with({"repo": "https://robot:s3cret-pw@git.example.com/r.git"}), {})

    migrate_forward()

    version = ServiceVersion.objects.get(pk=pk)
    assert version.config["storage"][0]["git"] == {
        "repo": "https://git.example.com/r.git",
        "username": "robot",
        "password": "****",
    }
    assert version.secrets == {"storage[0].git.password": "s3cret-pw"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT config, secrets FROM deployments_serviceversion")
        assert "s3cret-pw" not in repr(cursor.fetchall())
    revealed = service_config(service=Service.objects.get(name="old_git_service"), reveal_secrets=True)
    assert revealed["storage"][0]["git"]["password"] == "s3cret-pw"


def test_credentials_given_beside_the_url_win_and_other_rows_stay_as_they_were(old_apps):
    config = config_with(
        {"repo": "https://git.example.com/plain.git", "branch": "main"},
        {"repo": "https://old:old-pw@git.example.com/r.git", "username": "robot", "password": "****"},
    )
    pk = save_old_version(old_apps, config, {"storage[1].git.password": "kept-pw"})

    migrate_forward()

    version = ServiceVersion.objects.get(pk=pk)
    assert version.config["storage"][0]["git"] == {"repo": "https://git.example.com/plain.git", "branch": "main"}
    assert version.config["storage"][1]["git"] == {
        "repo": "https://git.example.com/r.git",
        "username": "robot",
        "password": "****",
    }
    assert version.secrets == {"storage[1].git.password": "kept-pw"}
