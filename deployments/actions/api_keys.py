"""Personal API keys: hashed at rest, shown once."""

import hashlib
import secrets as pysecrets

from django.utils import timezone

from deployments.errors import NotFound
from deployments.models import ApiKey

API_KEY_PREFIX = "berth_"


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, user, name: str) -> tuple[ApiKey, str]:
    """Make an API key for `user`. Returns the row and the key in clear: shown once, stored hashed."""
    plain = API_KEY_PREFIX + pysecrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user,
        name=(name or "API key").strip()[:100],
        prefix=plain[: len(API_KEY_PREFIX) + 6],
        key_hash=api_key_hash(plain),
    )
    return key, plain


def api_key_delete(*, user, key_id: int) -> None:
    deleted, _ = ApiKey.objects.filter(user=user, pk=key_id).delete()
    if not deleted:
        raise NotFound("no such API key")


def api_key_authenticate(*, plain: str):
    """The user owning `plain`, or None. Records when the key was last used (at most once a minute)."""
    key = ApiKey.objects.select_related("user").filter(key_hash=api_key_hash(plain)).first()
    if key is None or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.user
