"""Re-encrypt every stored secret under a new encryption key.

Every EncryptedTextField / EncryptedJSONField column of every installed model is
found through the app registry (deployments.crypto.encrypted_fields), read as stored
(ciphertext, never decrypted to a Python value) and rewritten with MultiFernet.rotate,
all in one transaction: either every row moves to the new key or none does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.db import connection, transaction

from deployments import keyfiles
from deployments.crypto import encrypted_fields, fernet_for, read_keys


class RotationError(Exception):
    """A stored value could not be decrypted with any key given: nothing was changed."""


@dataclass
class RotationResult:
    rows: int = 0
    columns: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows re-encrypted
    key_file: Path | None = None  # the key file the new key was written to, if any


def reencrypt_all(*, new_key: str, read: list[str]) -> RotationResult:
    """Rewrite every stored secret under `new_key`, reading with `new_key` or any of `read`.

    One transaction; raises RotationError (naming table, column and row count, never a value)
    and changes nothing when some value decrypts under none of the keys.
    """
    ring = MultiFernet([fernet_for(k) for k in dict.fromkeys([new_key, *read])])
    quote = connection.ops.quote_name
    result = RotationResult()
    with transaction.atomic():
        for model, fld in encrypted_fields():
            table, column, pk = model._meta.db_table, fld.column, model._meta.pk.column
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "
                    f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> ''"
                )
                rows = cursor.fetchall()
            updates, unreadable = [], 0
            for row_pk, token in rows:
                try:
                    updates.append((ring.rotate(token.encode()).decode(), row_pk))
                except InvalidToken:
                    unreadable += 1
            if unreadable:
                raise RotationError(
                    f"{unreadable} value(s) in {table}.{column} decrypt under none of the keys given "
                    "(BERTH_ENCRYPTION_KEY, BERTH_ENCRYPTION_OLD_KEYS): nothing was changed"
                )
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s", updates)
            result.columns[f"{table}.{column}"] = len(updates)
            result.rows += len(updates)
    return result


def rotate_encryption_key() -> RotationResult:
    """Move every stored secret to a new key, and make that key the one settings use.

    - Key from the key file (BERTH_ENCRYPTION_KEY unset): a new random key is made, parked
      in `<key file>.next` (0600) before the transaction, and moved over the key file only
      after the transaction committed. A crash in between leaves the DB readable: settings
      read the parked key as an old key.
    - Key from the environment: the operator already set BERTH_ENCRYPTION_KEY to the new key
      and BERTH_ENCRYPTION_OLD_KEYS to the old ones; rows are re-encrypted under the former.
    Other running processes keep their old key in memory: stop them first, restart them after.
    """
    read = read_keys()
    if not settings.BERTH_ENCRYPTION_KEY_FROM_FILE:
        return reencrypt_all(new_key=settings.BERTH_ENCRYPTION_KEY, read=read)
    key_file = Path(settings.BERTH_ENCRYPTION_KEY_FILE)
    pending = keyfiles.parked_key_path(key_file)
    new_key = keyfiles.new_key()
    keyfiles.write_key(pending, new_key)
    try:
        result = reencrypt_all(new_key=new_key, read=read)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    pending.replace(key_file)  # same directory: atomic; the parked file is already 0600 and synced
    settings.BERTH_ENCRYPTION_KEY = new_key
    settings.BERTH_ENCRYPTION_OLD_KEYS = []
    result.key_file = key_file
    return result
