"""Personal API keys.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.actions import api_keys
from deployments.api.bodies import object_body


class ApiKeyListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="List your API keys (never the keys themselves)")
    def get(self, request):
        keys = selectors.api_key_list_for_user(user=request.user)
        return Response(
            {
                "results": [
                    {"id": k.pk, "name": k.name, "prefix": k.prefix, "created_at": k.created_at, "last_used_at": k.last_used_at}
                    for k in keys
                ]
            }
        )

    @extend_schema(
        request=inline_serializer("ApiKeyCreate", {"name": serializers.CharField()}),
        responses={201: OpenApiTypes.OBJECT},
        summary="Make an API key; the response holds it once",
    )
    def post(self, request):
        key, plain = api_keys.api_key_create(user=request.user, name=str(object_body(request).get("name", "")))
        return Response({"id": key.pk, "name": key.name, "prefix": key.prefix, "key": plain}, status=201)


class ApiKeyDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Revoke an API key")
    def delete(self, request, key_id: int):
        api_keys.api_key_delete(user=request.user, key_id=key_id)
        return Response(status=204)
