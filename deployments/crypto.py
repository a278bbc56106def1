"""Encryption at rest for secrets (registry passwords, service tokens, config secrets).

Fernet (AES-128-CBC + HMAC-SHA256) with keys derived from settings: values are
written under BERTH_ENCRYPTION_KEY and read under it or, while a rotation is under
way, any of BERTH_ENCRYPTION_OLD_KEYS (and the legacy defaults of older installs,
see console/settings.py). Values are stored as Fernet tokens; nothing in the
database holds a secret in clear. `manage.py rotate_encryption_key` re-encrypts
every stored value under the current key.
"""

import base64
import hashlib
import json
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

log = logging.getLogger(__name__)
_warned_old_key = False


@lru_cache(maxsize=16)
def _fernet(key_material: str) -> Fernet:
    digest = hashlib.sha256(key_material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def fernet_for(key_material: str) -> Fernet:
    """The Fernet a key string (any length, any characters) stands for."""
    return _fernet(key_material)


def read_keys() -> list[str]:
    """Every key accepted for reading, the current one first, without repeats."""
    keys = [
        settings.BERTH_ENCRYPTION_KEY,
        *getattr(settings, "BERTH_ENCRYPTION_OLD_KEYS", []),
        *getattr(settings, "BERTH_ENCRYPTION_LEGACY_KEYS", []),
    ]
    return list(dict.fromkeys(k for k in keys if k))


def keyring() -> MultiFernet:
    """Encrypts under the current key; decrypts under any read key (MultiFernet.rotate re-encrypts)."""
    return MultiFernet([_fernet(k) for k in read_keys()])


def encrypt(plain: str) -> str:
    return _fernet(settings.BERTH_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    global _warned_old_key
    try:
        return _fernet(settings.BERTH_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        pass
    # Not under the current key: try the old ones, and say once per process that a rotation is due.
    try:
        plain = keyring().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # Say what is wrong without echoing the ciphertext.
        raise ValueError("a stored secret cannot be decrypted: BERTH_ENCRYPTION_KEY changed?") from exc
    if not _warned_old_key:
        _warned_old_key = True
        log.warning("stored secrets are encrypted under an old key: run manage.py rotate_encryption_key")
    return plain


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted in the database and clear in Python."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        return encrypt(str(value))


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (dict or list) stored encrypted as one text column."""

    def from_db_value(self, value, expression, connection):
        plain = super().from_db_value(value, expression, connection)
        return json.loads(plain) if plain else {}

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value

    def get_prep_value(self, value):
        if value is None:
            value = {}
        return super().get_prep_value(json.dumps(value, sort_keys=True))


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every encrypted column of every installed model, found through the app registry."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
