"""`manage.py backup` then `manage.py restore` into a fresh directory and database: the same
services, versions, secrets, tokens and API keys, and every service left for reconcile to recreate."""

import json
import stat
import tarfile

import pytest

from tests import stack
from tests.operations.conftest import installation_env, manage, run

SCRIPT = "tests/operations/installation.py"


def fingerprint(env: dict, command: str = "inspect") -> dict:
    return json.loads(run([SCRIPT, command], env).stdout.strip().splitlines()[-1])


def archive_member(path, name: str) -> bytes:
    with tarfile.open(path, "r:gz") as tar:
        return tar.extractfile(name).read()


@pytest.fixture
def source(tmp_path):
    """A populated SQLite installation with generated key files; yields (env, what it shows)."""
    env = installation_env(tmp_path / "source")
    manage("migrate", "--noinput", "-v0", env=env)
    return env, fingerprint(env, "populate")


def test_a_restore_into_a_fresh_directory_brings_back_services_secrets_tokens_and_api_keys(tmp_path, source):
    source_env, before = source
    assert before["api_key_status"] == 200 and before["api_key_sees"] == ["svc_a"]
    archive = tmp_path / "backups" / "berth.tar.gz"
    manage("backup", str(archive), env=source_env)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600, "the archive holds the keys: private"

    manifest = json.loads(archive_member(archive, "manifest.json"))
    assert manifest["format"] == "berth-backup" and manifest["db_vendor"] == "sqlite"
    assert manifest["tables"]["deployments_service"] == 1
    assert manifest["tables"]["deployments_serviceversion"] == 2
    assert manifest["tables"]["deployments_instance"] == 2
    source_key = (tmp_path / "source" / "encryption_key").read_text().strip()
    assert archive_member(archive, "keys/encryption_key").decode().strip() == source_key

    target_dir = tmp_path / "target"
    target_env = installation_env(target_dir)
    out = manage("restore", str(archive), env=target_env).stdout
    assert "service(s) left to reconcile" in out
    assert (target_dir / "encryption_key").read_text().strip() == source_key
    assert stat.S_IMODE((target_dir / "encryption_key").stat().st_mode) == 0o600
    assert stat.S_IMODE((target_dir / "berth.sqlite3").stat().st_mode) == 0o600

    after = fingerprint(target_env)
    for same in ("users", "services", "versions", "current_version", "credentials", "object_stores", "hosts"):
        assert after[same] == before[same], same
    assert after["services"] == {"svc_a": "service-token-abc"}
    assert after["versions"]["svc_a:2"] == {"dockerAuth": "robot:pw-2"}
    assert (after["api_key_status"], after["api_key_sees"]) == (200, ["svc_a"])
    # The old instances' containers are on the old machine: forgotten, so reconcile recreates them.
    assert (before["instances"], after["instances"]) == (2, 0)
    assert after["needs_convergence"] == ["svc_a"]
    assert after["deployments"] == ["running"], "a deployment queued in the old Redis is left to convergence"
    assert after["restored_events"] == 1


def test_restore_refuses_a_database_that_holds_data_unless_forced(tmp_path, source):
    source_env, before = source
    archive = tmp_path / "b.tar.gz"
    manage("backup", str(archive), env=source_env)
    target_env = installation_env(tmp_path / "target")
    manage("migrate", "--noinput", "-v0", env=target_env)
    manage("ensure_admin", env=target_env)  # what `make run` leaves behind

    refused = manage("restore", str(archive), env=target_env, check=False)
    assert refused.returncode != 0
    assert "target database is not empty" in refused.stderr
    assert fingerprint(target_env)["services"] == {}

    manage("restore", "--force", str(archive), env=target_env)
    assert fingerprint(target_env)["services"] == before["services"]


def test_a_backup_taken_mid_rotation_restores_with_every_secret_under_the_restored_key(tmp_path, source):
    """Secrets still under an old key when the backup was taken move to the archive's current key."""
    source_env, before = source
    old_key = (tmp_path / "source" / "encryption_key").read_text().strip()
    new_key = "a-new-key-set-in-the-environment-" + "n" * 20
    mid_rotation = {**source_env, "BERTH_ENCRYPTION_KEY": new_key, "BERTH_ENCRYPTION_OLD_KEYS": old_key}
    archive = tmp_path / "b.tar.gz"
    manage("backup", str(archive), env=mid_rotation)
    assert archive_member(archive, "keys/encryption_old_keys").decode().split() == [old_key]

    target_env = installation_env(tmp_path / "target")
    manage("restore", str(archive), env=target_env)
    assert (tmp_path / "target" / "encryption_key").read_text().strip() == new_key
    # Only the new key is in play now: no old keys configured, and everything still decrypts.
    assert fingerprint(target_env)["versions"] == before["versions"]
    manage("rotate_encryption_key", env=target_env)  # would fail on a value under a key it lacks


def test_restore_refuses_when_the_environment_key_differs_from_the_archives(tmp_path, source):
    source_env, _ = source
    archive = tmp_path / "b.tar.gz"
    manage("backup", str(archive), env=source_env)
    target_env = installation_env(tmp_path / "target", BERTH_ENCRYPTION_KEY="some-other-key-" + "x" * 30)
    refused = manage("restore", str(archive), env=target_env, check=False)
    assert refused.returncode != 0
    assert "differs from the archive's key" in refused.stderr
    assert not (tmp_path / "target" / "encryption_key").exists()


def test_backup_refuses_to_overwrite_an_existing_file(tmp_path, source):
    source_env, _ = source
    archive = tmp_path / "b.tar.gz"
    archive.write_text("precious")
    done = manage("backup", str(archive), env=source_env, check=False)
    assert done.returncode != 0 and "exists" in done.stderr
    assert archive.read_text() == "precious"


@pytest.mark.postgres
def test_a_postgresql_installation_round_trips_through_pg_dump_and_pg_restore(tmp_path):
    proc, url, _ = stack.start_postgres()
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE source_db")
            conn.execute("CREATE DATABASE target_db")
        base = url.rsplit("/", 1)[0]
        source_env = installation_env(tmp_path / "source", DATABASE_URL=f"{base}/source_db")
        manage("migrate", "--noinput", "-v0", env=source_env)
        before = fingerprint(source_env, "populate")
        archive = tmp_path / "pg.tar.gz"
        manage("backup", str(archive), env=source_env)
        manifest = json.loads(archive_member(archive, "manifest.json"))
        assert manifest["db_vendor"] == "postgresql" and manifest["database"] == "db/berth.pgdump"
        assert manifest["tables"]["deployments_service"] == 1

        target_env = installation_env(tmp_path / "target", DATABASE_URL=f"{base}/target_db")
        manage("restore", str(archive), env=target_env)
        after = fingerprint(target_env)
        for same in ("users", "services", "versions", "credentials", "object_stores", "hosts"):
            assert after[same] == before[same], same
        assert (after["api_key_status"], after["instances"], after["needs_convergence"]) == (200, 0, ["svc_a"])
    finally:
        stack.stop(proc)


@pytest.mark.docker
@pytest.mark.redis
def test_after_a_restore_reconcile_recreates_the_instances_on_this_machines_docker(tmp_path, busybox_image):
    """The archive's instance rows name containers of the old machine: the restored installation
    starts its own, on the real dockerd, at the first reconcile pass."""
    import docker

    installation = f"test-{stack.RUN_ID}-restore"
    service = f"t{stack.RUN_ID}_restored"
    redis_proc, redis_url = stack.start_redis()
    extra = {"BERTH_TEST_SERVICE": service, "BERTH_TEST_IMAGE": busybox_image, "BERTH_INSTALLATION": installation}
    client = docker.from_env()
    try:
        source_env = installation_env(tmp_path / "source", **extra)
        manage("migrate", "--noinput", "-v0", env=source_env)
        fingerprint(source_env, "populate")
        archive = tmp_path / "b.tar.gz"
        manage("backup", str(archive), env=source_env)

        target_env = installation_env(tmp_path / "target", REDIS_URL=redis_url, **extra)
        manage("restore", str(archive), env=target_env)
        assert client.containers.list(all=True, filters={"label": f"berth.installation={installation}"}) == []
        passed = json.loads(run([SCRIPT, "reconcile"], target_env).stdout.strip().splitlines()[-1])

        assert passed["stats"]["converged"] == 1, passed
        containers = {
            c.id: c
            for c in client.containers.list(
                filters={"label": f"berth.installation={installation}", "status": "running"}
            )
        }
        assert len(passed["instances"]) == 2, passed
        for name, container_id, status in passed["instances"]:
            assert status == "Running" and container_id in containers, (name, passed)
            assert containers[container_id].labels["berth.service"] == service
            assert container_id not in ("deadbeef1", "deadbeef2")
    finally:
        for container in client.containers.list(all=True, filters={"label": f"berth.installation={installation}"}):
            container.remove(force=True, v=True)
        stack.stop(redis_proc)
