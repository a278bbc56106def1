"""`manage.py backup`: one tar.gz holding everything needed to rebuild an installation.

Members (see docs/backup.md):
- manifest.json: format, version, time, DB vendor, row counts per table, members;
- db/berth.sqlite3 (SQLite, a consistent copy made with the online backup API) or
  db/berth.pgdump (PostgreSQL, `pg_dump --format=custom`);
- keys/secret_key, keys/encryption_key, keys/encryption_old_keys: the key material in use;
- files/gateway_tls.pem: the gateway's certificate and key, when BERTH_GATEWAY_TLS_CERT is set.

The gateway keeps nothing else on disk that the database cannot rebuild: haproxy.cfg and the
map files in BERTH_GATEWAY_DIR are rendered from the database on every start.

The archive holds the encryption key next to the data it protects: it is written 0600 and
must be kept like a password.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

from deployments import keyfiles
from deployments.crypto import read_keys

FORMAT = "berth-backup"
VERSION = 1
SQLITE_MEMBER = "db/berth.sqlite3"
PG_MEMBER = "db/berth.pgdump"
TLS_MEMBER = "files/gateway_tls.pem"


class BackupError(Exception):
    """The backup could not be made; the sentence says why."""


def pg_binary(name: str) -> str:
    """pg_dump / pg_restore from the newest installed PostgreSQL (a dump needs a client >= the server)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    found = str(candidates[-1]) if candidates else shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return found


def pg_env() -> tuple[list[str], dict]:
    """Connection arguments and environment for pg_dump / pg_restore; the password goes in PGPASSWORD."""
    db = settings.DATABASES["default"]
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def sqlite_copy(source: str, target: Path) -> None:
    """Copy a live SQLite database with the online backup API (consistent even while others write)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def sqlite_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        names = [
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {name: con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in sorted(names)}
    finally:
        con.close()


def live_counts() -> dict[str, int]:
    """Rows per table of the connected database."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        names = sorted(connection.introspection.table_names(cursor))
        counts = {}
        for name in names:
            cursor.execute(f"SELECT COUNT(*) FROM {quote(name)}")
            counts[name] = cursor.fetchone()[0]
    return counts


def _dump_database(workdir: Path) -> tuple[str, Path, dict[str, int]]:
    """(archive member, dumped file, row counts) for the configured database."""
    vendor = connection.vendor
    if vendor == "sqlite":
        target = workdir / "berth.sqlite3"
        sqlite_copy(str(settings.DATABASES["default"]["NAME"]), target)
        return SQLITE_MEMBER, target, sqlite_counts(target)  # counted in the copy: exactly what it holds
    if vendor == "postgresql":
        target = workdir / "berth.pgdump"
        args, env = pg_env()
        done = subprocess.run(
            [pg_binary("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target), *args],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        return PG_MEMBER, target, live_counts()
    raise BackupError(f"backups of {vendor} databases are not supported (SQLite and PostgreSQL are)")


def default_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BERTH_VAR_DIR) / "backups" / f"berth-{stamp}.tar.gz"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def backup_create(path: Path | None = None) -> tuple[Path, dict]:
    """Write the archive to `path` (default: var/backups/berth-<time>.tar.gz), mode 0600, atomically.

    Returns the path and the manifest. Never overwrites an existing file.
    """
    path = Path(path) if path else default_path()
    if path.exists():
        raise BackupError(f"{path} exists; choose another path")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix="berth-backup-") as tmp:  # 0700
        workdir = Path(tmp)
        member, dumped, counts = _dump_database(workdir)
        keys = read_keys()
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "installation": settings.BERTH_INSTALLATION,
            "db_vendor": connection.vendor,
            "database": member,
            "tables": counts,
            "members": [member, "keys/secret_key", "keys/encryption_key"],
        }
        # Read-only keys besides the old defaults (SECRET_KEY travels anyway; the constant is public).
        old_keys = [k for k in keys[1:] if k not in (settings.SECRET_KEY, keyfiles.LEGACY_DEV_SECRET_KEY)]
        if old_keys:
            manifest["members"].append("keys/encryption_old_keys")
        tls = Path(settings.BERTH_GATEWAY_TLS_CERT) if settings.BERTH_GATEWAY_TLS_CERT else None
        if tls and tls.is_file():
            manifest["members"].append(TLS_MEMBER)
        partial = path.with_name(f".{path.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                with tarfile.open(fileobj=handle, mode="w:gz") as tar:
                    _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode())
                    tar.add(dumped, arcname=member, filter=_private)
                    _add_bytes(tar, "keys/secret_key", settings.SECRET_KEY.encode() + b"\n")
                    _add_bytes(tar, "keys/encryption_key", keys[0].encode() + b"\n")
                    if old_keys:
                        _add_bytes(tar, "keys/encryption_old_keys", "\n".join(old_keys).encode() + b"\n")
                    if TLS_MEMBER in manifest["members"]:
                        _add_bytes(tar, TLS_MEMBER, tls.read_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(partial, 0o600)
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return path, manifest
