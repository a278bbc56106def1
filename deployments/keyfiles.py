"""Generated secrets for settings: key files under var/, created once and reused.

Settings call these at import time, before Django is set up, so this module imports
nothing from Django but its exception type. Several processes (web, worker, beat, the
prober, parallel test runs) may load settings at the same moment: a key file is created
by linking a finished temporary file into place, so exactly one value wins and everyone
reads that one.
"""

import os
import re
import secrets
import socket
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# The SECRET_KEY (and so the encryption key) every install used before key files existed.
# Still accepted for reading stored secrets (see deployments.crypto), never for writing.
LEGACY_DEV_SECRET_KEY = "berth-development-only-secret-key-do-not-use-in-production"
MIN_KEY_LENGTH = 32
# Values published somewhere (the old default, placeholders people copy from examples).
KNOWN_KEYS = frozenset(
    {
        LEGACY_DEV_SECRET_KEY,
        "change-me",
        "changeme",
        "secret",
        "your-secret-key",
        "replace-me-with-64-random-characters",
        "replace-me-with-another-64-random-characters",
    }
)


def private_dir(path: Path) -> Path:
    """Make `path` (and parents) exist with the directory itself at mode 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o777 != 0o700:
        try:
            os.chmod(path, 0o700)
        except PermissionError:
            pass  # someone else's directory (a read-only look at an install): creating keys there fails loudly
    return path


def new_key() -> str:
    """A fresh random key: 64 URL-safe characters (384 bits)."""
    return secrets.token_urlsafe(48)


def read_key(path: Path) -> str:
    """The key stored in `path`; a file that exists but is empty is an error, not a reason to regenerate."""
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"key file {path} cannot be read: {exc}") from exc
    if not value:
        raise ImproperlyConfigured(f"key file {path} is empty: restore it from a backup or delete it")
    return value


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(directory: Path, value: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".key-")  # mkstemp creates it 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return Path(tmp)


def read_or_create_key(path: Path) -> str:
    """The key in `path`; on first use a new random one, written 0600 in a 0700 directory.

    Safe against concurrent first uses: the file appears complete or not at all, and a
    process that loses the race reads the winner's key.
    """
    if path.exists():
        return read_key(path)
    private_dir(path.parent)
    tmp = _write_temp(path.parent, new_key())
    try:
        os.link(tmp, path)  # fails if another process got there first: then theirs is the key
        _fsync_dir(path.parent)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return read_key(path)


def parked_key_path(key_file: Path) -> Path:
    """Where rotate_encryption_key parks the next key until its transaction has committed."""
    return key_file.with_name(key_file.name + ".next")


def parked_keys(key_file: Path) -> list[str]:
    """The parked next key, if a rotation was cut short between its commit and its key file move."""
    parked = parked_key_path(key_file)
    return [read_key(parked)] if parked.exists() else []


def write_key(path: Path, value: str, *, private_parent: bool = True) -> None:
    """Replace the key in `path` atomically (0600): readers see the old key or the new one, never half.

    The parent directory is made 0700 unless `private_parent` is False (a directory someone else owns).
    """
    if private_parent:
        private_dir(path.parent)
    tmp = _write_temp(path.parent, value)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def split_keys(raw: str) -> list[str]:
    """Keys from a comma-, space- or newline-separated list (an env value or a file's contents)."""
    return [key for key in re.split(r"[,\s]+", raw) if key]


def check_strong(name: str, value: str) -> None:
    """Raise ImproperlyConfigured when `value` is too short or a published value (production only)."""
    if value in KNOWN_KEYS or value.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            f"{name} is a published example or old default value; set a random one of at least "
            f"{MIN_KEY_LENGTH} characters (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if len(value) < MIN_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"{name} is {len(value)} characters long; BERTH_ENV=production needs at least {MIN_KEY_LENGTH}"
        )


def allowed_hosts_for_bind(bind: str) -> list[str]:
    """Host names the console answers to when it listens on `bind` (host:port): loopback names,
    plus the bind host; for a wildcard bind, the machine's host name too."""
    host = bind.rsplit(":", 1)[0].strip("[]") if ":" in bind else bind
    hosts = ["localhost", "127.0.0.1", "[::1]"]
    if host in ("", "0.0.0.0", "::"):
        hosts.append(socket.gethostname())
    elif host not in hosts and host != "::1":
        hosts.append(host)
    return hosts


def private_sqlite_file(name: str) -> None:
    """Make the SQLite database file exist at mode 0600 before SQLite opens it.

    SQLite gives its -wal and -shm files the main file's mode, so creating it private keeps
    all three private. An empty file is a valid empty database.
    """
    if not name or name == ":memory:" or name.startswith("file:") or not os.path.isabs(name):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return  # migrate will say where it cannot write; settings must not fail on it
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if path.stat().st_mode & 0o777 != 0o600:
            os.chmod(path, 0o600)
    except PermissionError:
        pass  # a file owned by someone else (read-only inspection): leave it alone
