"""Object-store connections (S3-compatible endpoints and keys) of a workspace.
"""

import re
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from deployments.access import check_can_write
from deployments.errors import ConfigInvalid
from deployments.models import Workspace
from deployments.models.storage import AddressingStyle, ObjectStore
from deployments.runtime import RuntimeFailure
from deployments.storage import context as storage_context
from deployments.storage import endpoints
from deployments.storage import s3

STORE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def _endpoint_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "give the endpoint URL with its scheme, e.g. https://oss-cn-hangzhou.aliyuncs.com or http://minio:9000"
    if parts.username or parts.password:
        return "put the keys in their own fields, not in the URL"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "give only scheme, host and port: the bucket comes from the oss:// path"
    try:
        endpoints.check_endpoint(url, resolvable=False)
    except endpoints.EndpointRefused as exc:
        return str(exc)
    return None


def _check(*, name: str, endpoint_url: str, addressing_style: str, keys: dict[str, str]) -> None:
    errors = []
    if not STORE_NAME.fullmatch(name or ""):
        errors.append({"path": "name", "message": "use 1-63 letters, digits, '_', '-' or '.', starting with a letter or digit"})
    problem = _endpoint_problem(endpoint_url or "")
    if problem:
        errors.append({"path": "endpoint_url", "message": problem})
    if addressing_style not in AddressingStyle.values:
        errors.append({"path": "addressing_style", "message": f"choose one of {', '.join(AddressingStyle.values)}"})
    for field, value in keys.items():
        if not value:
            errors.append({"path": field, "message": "required"})
    if errors:
        raise ConfigInvalid(errors)


def object_store_create(
    *,
    actor,
    workspace: Workspace,
    name: str,
    endpoint_url: str,
    access_key_id: str,
    secret_access_key: str,
    region: str = "",
    addressing_style: str = AddressingStyle.AUTO,
    is_default: bool = False,
) -> ObjectStore:
    """Save an object-store connection in the workspace (keys encrypted). The first one, or one saved
    with `is_default`, becomes the workspace default. Owners and developers only."""
    check_can_write(user=actor, workspace=workspace)
    endpoint_url = (endpoint_url or "").strip().rstrip("/")
    _check(
        name=name, endpoint_url=endpoint_url, addressing_style=addressing_style,
        keys={"access_key_id": access_key_id, "secret_access_key": secret_access_key},
    )
    try:
        with transaction.atomic():
            first = not workspace.object_stores.exists()
            if is_default:
                workspace.object_stores.filter(is_default=True).update(is_default=False)
            return ObjectStore.objects.create(
                workspace=workspace, name=name, endpoint_url=endpoint_url, region=(region or "").strip(),
                addressing_style=addressing_style, access_key_id=access_key_id.strip(),
                secret_access_key=secret_access_key, is_default=is_default or first,
            )
    except IntegrityError:
        raise ConfigInvalid([{"path": "name", "message": f"an object store named {name!r} already exists here"}])


def object_store_update(*, actor, store: ObjectStore, **changes) -> ObjectStore:
    """Change a connection's endpoint, region, addressing style or keys. A key left empty (or absent)
    keeps the stored one; `is_default=True` makes it the workspace default."""
    check_can_write(user=actor, workspace=store.workspace)
    allowed = {"endpoint_url", "region", "addressing_style", "access_key_id", "secret_access_key", "is_default"}
    unknown = set(changes) - allowed
    if unknown:
        raise ConfigInvalid([{"path": key, "message": "cannot be changed here"} for key in sorted(unknown)])
    new_endpoint = (changes.get("endpoint_url") or "").strip().rstrip("/")
    if new_endpoint and new_endpoint != store.endpoint_url:
        # The stored keys must not follow the connection to another host: whoever re-points it shows the keys.
        missing = [field for field in ("access_key_id", "secret_access_key") if not changes.get(field)]
        if missing:
            raise ConfigInvalid(
                [{"path": field, "message": "required when the endpoint changes: enter the keys again"}
                 for field in missing]
            )
    for field in ("endpoint_url", "region", "addressing_style"):
        if changes.get(field) is not None:
            setattr(store, field, changes[field].strip().rstrip("/") if field == "endpoint_url" else changes[field].strip())
    for field in ("access_key_id", "secret_access_key"):
        if changes.get(field):
            setattr(store, field, changes[field].strip() if field == "access_key_id" else changes[field])
    _check(name=store.name, endpoint_url=store.endpoint_url, addressing_style=store.addressing_style, keys={})
    with transaction.atomic():
        if changes.get("is_default"):
            store.workspace.object_stores.exclude(pk=store.pk).filter(is_default=True).update(is_default=False)
            store.is_default = True
        store.save()
    return store


def object_store_delete(*, actor, store: ObjectStore) -> None:
    """Forget a connection. Services naming it fail to start new instances until another one is named."""
    check_can_write(user=actor, workspace=store.workspace)
    store.delete()


def object_store_check(*, actor, store: ObjectStore, bucket: str = "") -> dict:
    """Try the connection (list the bucket when given, else list buckets): {"ok", "message"}. Writes nothing.

    Owners and developers only: it uses the stored keys, which viewers may not exercise.
    """
    # botocore is imported where it is used: it is slow to import and only storage work needs it.
    from botocore.exceptions import BotoCoreError, ClientError


    check_can_write(user=actor, workspace=store.workspace)
    try:
        client = s3.client_for(
            endpoint=store.endpoint_url, region=store.region, addressing_style=store.addressing_style,
            access_key_id=store.access_key_id, secret_access_key=store.secret_access_key,
            ca_bundle=storage_context.ca_bundle(), pool=1,
        )
        if bucket:
            client.list_objects_v2(Bucket=bucket, MaxKeys=1)
            return {"ok": True, "message": f"connection {store.name!r} can list bucket {bucket!r}"}
        listing = client.list_buckets()
        if "Buckets" not in listing and "Owner" not in listing:
            # botocore reads any 200 (an HTML page, say) as an empty listing: that is not an S3 endpoint.
            return {"ok": False, "message": endpoints.unreachable(store.endpoint_url)}
        count = len(listing.get("Buckets") or [])
        return {"ok": True, "message": f"connection {store.name!r} works: {count} buckets visible"}
    except (BotoCoreError, ClientError) as exc:
        error = s3.failure(exc, store=store.name, endpoint=store.endpoint_url, bucket=bucket or "*", prefix="")
        return {"ok": False, "message": str(error)}
    except RuntimeFailure as exc:
        return {"ok": False, "message": str(exc)}
    except (TypeError, ValueError, KeyError):
        # botocore fails on some non-S3 answers with plain Python errors (a 302 without a region header
        # raises TypeError): the endpoint's fault, not a server error.
        return {"ok": False, "message": endpoints.unreachable(store.endpoint_url)}
