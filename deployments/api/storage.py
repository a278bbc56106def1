"""Storage endpoints: a workspace's object-store connections, and the mounts of a service's instances.

The secret access key never leaves the server; the access key id is shown masked (last 4 characters).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors, spec
from deployments.actions import object_stores
from deployments.storage import reads as storage_reads

STORE_FIELDS = ("name", "endpoint_url", "region", "addressing_style", "access_key_id", "secret_access_key")


def store_body(store) -> dict:
    return {
        "name": store.name,
        "endpoint_url": store.endpoint_url,
        "region": store.region,
        "addressing_style": store.addressing_style,
        "access_key_id": store.access_key_hint,
        "secret_access_key": spec.SECRET_MASK,
        "is_default": store.is_default,
        "created_at": store.created_at,
    }


def _text(data, field: str) -> str:
    value = data.get(field, "") if isinstance(data, dict) else ""
    return value if isinstance(value, str) else str(value)


class ObjectStoreListView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, operation_id="object_stores_list", summary="List a workspace's object-store connections"
    )
    def get(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        return Response({"results": [store_body(s) for s in selectors.object_store_list(workspace=workspace)]})

    @extend_schema(
        request=inline_serializer(
            "ObjectStoreCreate",
            {
                "name": serializers.CharField(),
                "endpoint_url": serializers.CharField(help_text="e.g. https://oss-cn-hangzhou.aliyuncs.com"),
                "region": serializers.CharField(required=False),
                "addressing_style": serializers.ChoiceField(["auto", "path", "virtual"], required=False),
                "access_key_id": serializers.CharField(),
                "secret_access_key": serializers.CharField(),
                "is_default": serializers.BooleanField(required=False),
            },
        ),
        responses={201: OpenApiTypes.OBJECT},
        summary="Save an object-store connection (S3 protocol; keys stored encrypted)",
    )
    def post(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        data = request.data
        store = object_stores.object_store_create(
            actor=request.user,
            workspace=workspace,
            addressing_style=_text(data, "addressing_style") or "auto",
            is_default=bool(data.get("is_default")) if isinstance(data, dict) else False,
            **{field: _text(data, field) for field in STORE_FIELDS if field != "addressing_style"},
        )
        return Response(store_body(store), status=201)


class ObjectStoreDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="One object-store connection")
    def get(self, request, slug: str, name: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        return Response(store_body(selectors.object_store_get(workspace=workspace, name=name)))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        summary="Change a connection (keys left out or empty keep the stored ones)",
    )
    def patch(self, request, slug: str, name: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        store = selectors.object_store_get(workspace=workspace, name=name)
        data = request.data if isinstance(request.data, dict) else {}
        changes = {key: (bool(value) if key == "is_default" else str(value)) for key, value in data.items()}
        # A masked value sent back means "keep the stored one".
        for key in ("access_key_id", "secret_access_key"):
            if isinstance(changes.get(key), str) and changes[key].startswith(spec.SECRET_MASK):
                changes.pop(key)
        return Response(store_body(object_stores.object_store_update(actor=request.user, store=store, **changes)))

    @extend_schema(responses={204: None}, summary="Delete an object-store connection")
    def delete(self, request, slug: str, name: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        store = selectors.object_store_get(workspace=workspace, name=name)
        object_stores.object_store_delete(actor=request.user, store=store)
        return Response(status=204)


class ObjectStoreCheckView(APIView):
    @extend_schema(
        request=inline_serializer("ObjectStoreCheck", {"bucket": serializers.CharField(required=False)}),
        responses={200: OpenApiTypes.OBJECT},
        summary="Try a connection: list a bucket (or the buckets); nothing is saved",
    )
    def post(self, request, slug: str, name: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        store = selectors.object_store_get(workspace=workspace, name=name)
        result = object_stores.object_store_check(actor=request.user, store=store, bucket=_text(request.data, "bucket"))
        return Response(result, status=200 if result["ok"] else 400)


class ServiceMountListView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="The mounts of each instance of a service (sources without credentials)",
    )
    def get(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        return Response({"results": storage_reads.service_mounts(service=service)})
