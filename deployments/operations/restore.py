"""`manage.py restore`: rebuild an installation from a `manage.py backup` archive.

Order matters: everything that can refuse (archive format, DB vendor, a non-empty target,
an encryption key the archive's secrets are not under) is checked before anything is
written. Then the database is restored, the key files are written, migrations bring an
older archive forward, stored secrets move to the restored key, and every instance is
forgotten so reconcile recreates the services on this machine's hosts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from deployments import keyfiles
from deployments.choices import DeploymentStatus, EventType
from deployments.crypto import encrypted_fields
from deployments.models import Deployment, Event, Instance, Service
from deployments.operations.archive import (
    FORMAT,
    PG_MEMBER,
    SQLITE_MEMBER,
    TLS_MEMBER,
    VERSION,
    pg_binary,
    pg_env,
    sqlite_copy,
)
from deployments.operations.rotation import RotationError, reencrypt_all


class RestoreError(Exception):
    """The archive cannot be restored here; nothing was changed. The sentence says why and what to do."""


@dataclass
class RestoreResult:
    manifest: dict
    secrets_checked: int = 0
    instances_forgotten: int = 0
    services_reconverging: int = 0
    notes: list[str] = field(default_factory=list)


def _read(tar: tarfile.TarFile, name: str) -> bytes | None:
    """A regular-file member's bytes, or None; members are read, never extracted onto disk by name."""
    try:
        info = tar.getmember(name)
    except KeyError:
        return None
    if not info.isfile():
        raise RestoreError(f"archive member {name} is not a regular file")
    return tar.extractfile(info).read()


def _extract(tar: tarfile.TarFile, name: str, target: Path) -> bool:
    """Stream a regular-file member into `target` (a private temp dir); False when it is missing."""
    try:
        info = tar.getmember(name)
    except KeyError:
        return False
    if not info.isfile():
        raise RestoreError(f"archive member {name} is not a regular file")
    with tar.extractfile(info) as source, open(target, "wb") as sink:
        shutil.copyfileobj(source, sink, 1024 * 1024)
    return True


def database_has_data() -> bool:
    """True when the target DB holds users or any Berth row (a migrated but unused DB is empty)."""
    from django.apps import apps

    tables = set(connection.introspection.table_names())
    models = [get_user_model(), *apps.get_app_config("deployments").get_models()]
    return any(m._meta.db_table in tables and m._base_manager.exists() for m in models)


def _restore_sqlite(copy: Path) -> None:
    target = str(settings.DATABASES["default"]["NAME"])
    connection.close()
    # The backup API replaces the target's pages in place, WAL included: no file juggling.
    sqlite_copy(str(copy), Path(target))
    keyfiles.private_sqlite_file(target)


def _restore_postgres(dump: Path) -> None:
    connection.close()
    args, env = pg_env()
    done = subprocess.run(
        [
            pg_binary("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            *args,
            str(dump),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RestoreError(f"pg_restore failed: {done.stderr.strip()}")


def _install_keys(*, secret_key: str, encryption_key: str, notes: list[str]) -> None:
    """Make the restored keys the ones this installation uses (files when settings read files)."""
    if settings.BERTH_ENCRYPTION_KEY_FROM_FILE:
        keyfiles.write_key(Path(settings.BERTH_ENCRYPTION_KEY_FILE), encryption_key)
        settings.BERTH_ENCRYPTION_KEY = encryption_key
    if not (os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE")):
        keyfiles.write_key(Path(settings.BERTH_SECRET_KEY_FILE), secret_key)
    else:
        notes.append("SECRET_KEY comes from the environment: kept; browser sessions of the old installation end")


def reconverge() -> tuple[int, int]:
    """Forget every instance (their containers belong to the old machine) and hand queued work to reconcile.

    Instance rows are convergence state, not desired state: with none left, reconcile sees each
    service that should run short of instances and starts them on this installation's hosts; a
    container the old installation left on a shared host has no row any more and is removed as an
    orphan. Deployments queued in the old Redis are gone with it: they are marked running so the
    convergence reconcile starts finishes them. Returns (instances forgotten, services affected).
    """
    with transaction.atomic():
        forgotten = Instance.objects.count()
        Instance.objects.all().delete()  # mounts go with them (CASCADE)
        Deployment.objects.filter(status=DeploymentStatus.QUEUED).update(
            status=DeploymentStatus.RUNNING, started_at=timezone.now(), phase="restored"
        )
        services = list(Service.objects.values_list("pk", flat=True))
        Event.objects.bulk_create(
            Event(
                service_id=pk,
                type=EventType.NORMAL,
                reason="Restored",
                actor="system",
                message="restored from a backup; instances are recreated on this installation's hosts",
            )
            for pk in services
        )
    return forgotten, len(services)


def verify_secrets() -> int:
    """Decrypt every stored secret through the ORM; raises RestoreError naming the column if one fails."""
    checked = 0
    for model, fld in encrypted_fields():
        try:
            checked += sum(1 for value in model._base_manager.values_list(fld.name, flat=True).iterator() if value)
        except ValueError as exc:
            raise RestoreError(f"{model._meta.db_table}.{fld.column}: {exc}") from exc
    return checked


def restore(path: Path, *, force: bool = False) -> RestoreResult:
    """Rebuild this installation (its configured DB and key files) from the archive at `path`."""
    try:
        tar = tarfile.open(path, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise RestoreError(f"{path} is not a Berth backup archive: {exc}") from exc
    with tar, tempfile.TemporaryDirectory(prefix="berth-restore-") as tmp:  # 0700
        manifest = json.loads(_read(tar, "manifest.json") or b"{}")
        if manifest.get("format") != FORMAT or manifest.get("version", 0) > VERSION:
            raise RestoreError(
                f"{path} is not a Berth backup archive this version can read (format {FORMAT} v{VERSION})"
            )
        if manifest["db_vendor"] != connection.vendor:
            raise RestoreError(
                f"the archive holds a {manifest['db_vendor']} database; this installation uses {connection.vendor}"
            )
        if not force and database_has_data():
            raise RestoreError(
                "the target database is not empty; restore into a fresh one, or pass --force to replace it"
            )
        secret_key = (_read(tar, "keys/secret_key") or b"").decode().strip()
        encryption_key = (_read(tar, "keys/encryption_key") or b"").decode().strip()
        old_keys = keyfiles.split_keys((_read(tar, "keys/encryption_old_keys") or b"").decode())
        tls = _read(tar, TLS_MEMBER)
        if not secret_key or not encryption_key:
            raise RestoreError(f"{path} lacks its key material; it is incomplete")
        if not settings.BERTH_ENCRYPTION_KEY_FROM_FILE and encryption_key not in (
            settings.BERTH_ENCRYPTION_KEY,
            *settings.BERTH_ENCRYPTION_OLD_KEYS,
        ):
            raise RestoreError(
                "BERTH_ENCRYPTION_KEY is set and differs from the archive's key (keys/encryption_key in the "
                "archive): set it to that key, or add that key to BERTH_ENCRYPTION_OLD_KEYS and run "
                "rotate_encryption_key after"
            )
        dumped = Path(tmp) / "database"
        if not _extract(tar, SQLITE_MEMBER if connection.vendor == "sqlite" else PG_MEMBER, dumped):
            raise RestoreError(f"{path} lacks its database dump; it is incomplete")

        result = RestoreResult(manifest=manifest)
        (_restore_sqlite if connection.vendor == "sqlite" else _restore_postgres)(dumped)
    _install_keys(secret_key=secret_key, encryption_key=encryption_key, notes=result.notes)
    call_command("migrate", "--noinput", verbosity=0)
    # Every secret moves to the restored key now, whichever key it was under at backup time (an old key
    # of a rotation under way, or an older install's default), so nothing depends on fallbacks later.
    read = [encryption_key, *old_keys, secret_key, keyfiles.LEGACY_DEV_SECRET_KEY, *settings.BERTH_ENCRYPTION_OLD_KEYS]
    try:
        reencrypt_all(new_key=settings.BERTH_ENCRYPTION_KEY, read=read)
    except RotationError as exc:
        raise RestoreError(f"the database is restored but some secrets are unreadable: {exc}") from exc
    result.instances_forgotten, result.services_reconverging = reconverge()
    result.secrets_checked = verify_secrets()
    if tls:
        result.notes.append(_restore_tls(tls))
    return result


def _restore_tls(pem: bytes) -> str:
    target = Path(settings.BERTH_GATEWAY_TLS_CERT or Path(settings.BERTH_VAR_DIR) / "gateway_tls.pem")
    if target.exists():
        return f"gateway TLS certificate: {target} exists, left as it is (the archive's copy is {TLS_MEMBER})"
    keyfiles.write_key(target, pem.decode().strip(), private_parent=False)  # atomic, 0600
    hint = "" if settings.BERTH_GATEWAY_TLS_CERT else f"; set BERTH_GATEWAY_TLS_CERT={target}"
    return f"gateway TLS certificate written to {target}{hint}"
