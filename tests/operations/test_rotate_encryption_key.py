"""`manage.py rotate_encryption_key`: every stored secret moves to a new key in one transaction."""

import logging
import stat

import pytest
from cryptography.fernet import InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

import deployments.crypto as crypto
from deployments.choices import Role
from deployments.crypto import decrypt, encrypted_fields, fernet_for
from deployments.keyfiles import LEGACY_DEV_SECRET_KEY
from deployments.models import (
    DockerHost,
    Membership,
    AlertChannel,
    ObjectStore,
    RegistryCredential,
    Service,
    ServiceVersion,
    Workspace,
)

K1, K2 = "first-key-" + "1" * 40, "second-key-" + "2" * 40


def make_secrets(user) -> dict:
    """One row per encrypted column; returns what each should decrypt to."""
    workspace = Workspace.objects.create(name="team", slug="team")
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    RegistryCredential.objects.create(workspace=workspace, name="r", registry="reg", username="u", password="reg-pw")
    ObjectStore.objects.create(
        workspace=workspace, name="o", endpoint_url="https://s3", access_key_id="AKID", secret_access_key="sk"
    )
    DockerHost.objects.create(name="h", url="tcp://h:2376", tls_ca="CA", tls_cert="CERT", tls_key="KEY")
    service = Service.objects.create(name="svc", workspace=workspace, token="svc-token")
    ServiceVersion.objects.create(service=service, number=1, config={}, secrets={"dockerAuth": "u:p"})
    AlertChannel.objects.create(workspace=workspace, name="hook", kind="webhook", url="https://hooks.example.com/T0K3N")
    return read_all()


def read_all() -> dict:
    return {
        "password": RegistryCredential.objects.get().password,
        "keys": [ObjectStore.objects.get().access_key_id, ObjectStore.objects.get().secret_access_key],
        "tls": [DockerHost.objects.get().tls_ca, DockerHost.objects.get().tls_cert, DockerHost.objects.get().tls_key],
        "token": Service.objects.get().token,
        "secrets": ServiceVersion.objects.get().secrets,
        "webhook": AlertChannel.objects.get().url,
    }


def raw_values() -> list[str]:
    """Every stored ciphertext, read past the fields' decryption."""
    values = []
    with connection.cursor() as cursor:
        for model, field in encrypted_fields():
            cursor.execute(f'SELECT "{field.column}" FROM "{model._meta.db_table}" WHERE "{field.column}" <> \'\'')
            values += [row[0] for row in cursor.fetchall()]
    return values


def decrypts_under(key: str, token: str) -> bool:
    try:
        fernet_for(key).decrypt(token.encode())
        return True
    except InvalidToken:
        return False


@pytest.fixture
def key_file_install(settings, tmp_path):
    """Settings as `make run` has them: the key comes from var/encryption_key."""
    key_file = tmp_path / "encryption_key"
    key_file.write_text(K1 + "\n")
    settings.BERTH_ENCRYPTION_KEY_FILE = key_file
    settings.BERTH_ENCRYPTION_KEY = K1
    settings.BERTH_ENCRYPTION_KEY_FROM_FILE = True
    settings.BERTH_ENCRYPTION_OLD_KEYS = []
    settings.BERTH_ENCRYPTION_LEGACY_KEYS = []
    return key_file


def test_rotation_from_the_key_file_reencrypts_every_secret_and_writes_the_new_key(
    db, alice, key_file_install, settings
):
    before = make_secrets(alice)
    assert all(decrypts_under(K1, v) for v in raw_values())
    call_command("rotate_encryption_key")

    new_key = key_file_install.read_text().strip()
    assert new_key != K1 and len(new_key) >= 32
    assert stat.S_IMODE(key_file_install.stat().st_mode) == 0o600
    assert not key_file_install.with_name("encryption_key.next").exists()
    assert settings.BERTH_ENCRYPTION_KEY == new_key
    raw = raw_values()
    assert (
        len(raw) == len(encrypted_fields()) == 9
    )  # every encrypted column of every model, found without a hand-written list
    assert not any(decrypts_under(K1, v) for v in raw), "the old key alone must no longer decrypt anything"
    assert all(decrypts_under(new_key, v) for v in raw)
    assert read_all() == before


def test_rotation_with_keys_from_the_environment_moves_rows_from_the_old_keys_to_the_new_one(db, alice, settings):
    settings.BERTH_ENCRYPTION_KEY, settings.BERTH_ENCRYPTION_OLD_KEYS = K1, []
    settings.BERTH_ENCRYPTION_KEY_FROM_FILE, settings.BERTH_ENCRYPTION_LEGACY_KEYS = False, []
    before = make_secrets(alice)
    # The operator sets the new key and lists the old one, then rotates.
    settings.BERTH_ENCRYPTION_KEY, settings.BERTH_ENCRYPTION_OLD_KEYS = K2, [K1]
    assert read_all() == before, "old keys are accepted for reading during the rotation"
    call_command("rotate_encryption_key")
    raw = raw_values()
    assert not any(decrypts_under(K1, v) for v in raw)
    assert all(decrypts_under(K2, v) for v in raw)
    settings.BERTH_ENCRYPTION_OLD_KEYS = []
    assert read_all() == before


def test_a_value_no_key_decrypts_aborts_the_rotation_and_changes_nothing(db, alice, key_file_install):
    make_secrets(alice)
    stray = fernet_for("a-key-nobody-has").encrypt(b"lost").decode()
    with connection.cursor() as cursor:
        cursor.execute('UPDATE "deployments_registrycredential" SET "password" = %s', [stray])
    with pytest.raises(CommandError, match="deployments_registrycredential.password"):
        call_command("rotate_encryption_key")
    assert key_file_install.read_text().strip() == K1
    assert not key_file_install.with_name("encryption_key.next").exists()
    assert all(decrypts_under(K1, v) for v in raw_values() if v != stray)


def test_secrets_an_older_install_stored_under_the_old_default_stay_readable_until_rotated(
    db, alice, key_file_install, settings, caplog
):
    settings.BERTH_ENCRYPTION_KEY = LEGACY_DEV_SECRET_KEY  # what an install before key files wrote with
    before = make_secrets(alice)
    settings.BERTH_ENCRYPTION_KEY = K1  # upgraded: a generated key file, the old default read only
    with pytest.raises(ValueError):
        read_all()
    settings.BERTH_ENCRYPTION_LEGACY_KEYS = [LEGACY_DEV_SECRET_KEY]
    crypto._warned_old_key = False
    with caplog.at_level(logging.WARNING, logger="deployments.crypto"):
        assert read_all() == before
    assert "run manage.py rotate_encryption_key" in caplog.text
    call_command("rotate_encryption_key")
    new_key = key_file_install.read_text().strip()
    assert not any(decrypts_under(LEGACY_DEV_SECRET_KEY, v) for v in raw_values())
    settings.BERTH_ENCRYPTION_LEGACY_KEYS = []
    assert settings.BERTH_ENCRYPTION_KEY == new_key and read_all() == before


def test_decrypt_never_writes_under_an_old_key(settings):
    settings.BERTH_ENCRYPTION_KEY, settings.BERTH_ENCRYPTION_OLD_KEYS = K2, [K1]
    token = crypto.encrypt("x")
    assert decrypts_under(K2, token) and not decrypts_under(K1, token)
    assert decrypt(token) == "x"


def test_an_upgraded_install_reads_secrets_stored_under_the_old_default_and_rotation_retires_it(tmp_path):
    """Before key files, `make run` encrypted with the public constant (SECRET_KEY's old default)."""
    from tests.operations.conftest import installation_env, manage, run

    var = tmp_path / "var"
    old_install = installation_env(var, SECRET_KEY=LEGACY_DEV_SECRET_KEY, BERTH_ENCRYPTION_KEY=LEGACY_DEV_SECRET_KEY)
    manage("migrate", "--noinput", "-v0", env=old_install)
    before = run(["tests/operations/installation.py", "populate"], old_install).stdout.strip().splitlines()[-1]

    upgraded = installation_env(var)  # no key in the environment: key files are generated
    read = run(["tests/operations/installation.py", "inspect"], upgraded)
    assert read.stdout.strip().splitlines()[-1] == before
    assert "run manage.py rotate_encryption_key" in read.stderr
    manage("rotate_encryption_key", env=upgraded)
    check = (
        "import django; django.setup(); from deployments.models import Service; "
        "from django.db.models import TextField; from django.db.models.functions import Cast; "
        "print(Service.objects.annotate(raw=Cast('token', TextField())).values_list('raw', flat=True).get())"
    )
    raw = run(["-c", check], upgraded).stdout.strip()
    assert not decrypts_under(LEGACY_DEV_SECRET_KEY, raw)
    assert decrypts_under((var / "encryption_key").read_text().strip(), raw)
    after = run(["tests/operations/installation.py", "inspect"], upgraded)
    assert after.stdout.strip().splitlines()[-1] == before
    assert "rotate_encryption_key" not in after.stderr


def test_a_rotation_cut_short_after_its_commit_leaves_every_secret_readable(tmp_path):
    """The new key is parked in encryption_key.next before the commit and moved after it: a crash in
    between leaves rows under the parked key and the old key in the file. Settings read both."""
    from tests.operations.conftest import installation_env, manage, run

    var = tmp_path / "var"
    committed = installation_env(var, BERTH_ENCRYPTION_KEY=K2)  # the rows as the committed rotation left them
    manage("migrate", "--noinput", "-v0", env=committed)
    before = run(["tests/operations/installation.py", "populate"], committed).stdout.strip().splitlines()[-1]
    (var / "encryption_key").write_text(K1 + "\n")  # the move never happened
    (var / "encryption_key.next").write_text(K2 + "\n")

    restarted = installation_env(var)
    assert run(["tests/operations/installation.py", "inspect"], restarted).stdout.strip().splitlines()[-1] == before
    manage("rotate_encryption_key", env=restarted)  # running it again finishes the job
    assert not (var / "encryption_key.next").exists()
    assert (var / "encryption_key").read_text().strip() not in (K1, K2)
    assert run(["tests/operations/installation.py", "inspect"], restarted).stdout.strip().splitlines()[-1] == before
