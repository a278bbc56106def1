"""Encryption at rest for secrets (registry passwords, service tokens, config secrets).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from
settings.BERTH_ENCRYPTION_KEY. Values are stored as Fernet tokens; nothing in
the database holds a secret in clear.
"""

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    digest = hashlib.sha256(key_material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plain: str) -> str:
    return _fernet(settings.BERTH_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.BERTH_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # Say what is wrong without echoing the ciphertext.
        raise ValueError("a stored secret cannot be decrypted: BERTH_ENCRYPTION_KEY changed?") from exc


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
