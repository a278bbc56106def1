"""A workspace's alert channels (webhook, e-mail), test sends, and the latest deliveries.

A webhook's URL is a secret (chat webhooks carry their token in it): it is never returned, only
its scheme and host.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.actions import alerts


def channel_body(channel) -> dict:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "target": channel.target_hint,
        "enabled": channel.enabled,
        "created_at": channel.created_at,
    }


def delivery_body(delivery) -> dict:
    incident = delivery.incident
    return {
        "channel": delivery.channel.name,
        "kind": delivery.kind,
        "subject": delivery.subject,
        "service": incident.service.name if incident and incident.service else None,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "sent_at": delivery.sent_at,
    }


def _text(data, field: str) -> str:
    value = data.get(field, "") if isinstance(data, dict) else ""
    return value if isinstance(value, str) else ""


class AlertChannelListView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, operation_id="alert_channels_list", summary="List alert channels"
    )
    def get(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        return Response({"results": [channel_body(c) for c in selectors.alert_channel_list(workspace=workspace)]})

    @extend_schema(
        request=inline_serializer(
            "AlertChannelCreate",
            {
                "name": serializers.CharField(),
                "kind": serializers.ChoiceField(["webhook", "email"]),
                "url": serializers.CharField(required=False, help_text="webhook: receives a JSON POST per incident"),
                "emails": serializers.CharField(required=False, help_text="email: comma-separated addresses"),
            },
        ),
        responses={201: OpenApiTypes.OBJECT},
        summary="Add an alert channel (deploy failed, rollout failed, crash loop, OOM, host unreachable, gateway down)",
    )
    def post(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        channel = alerts.alert_channel_create(
            actor=request.user,
            workspace=workspace,
            name=_text(request.data, "name"),
            kind=_text(request.data, "kind"),
            url=_text(request.data, "url"),
            emails=_text(request.data, "emails"),
        )
        return Response(channel_body(channel), status=status.HTTP_201_CREATED)


class AlertChannelDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Remove an alert channel")
    def delete(self, request, slug: str, name: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        alerts.alert_channel_delete(
            actor=request.user, channel=selectors.alert_channel_get(workspace=workspace, name=name)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertChannelTestView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT}, summary="Send a test alert now")
    def post(self, request, slug: str, name: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        channel = selectors.alert_channel_get(workspace=workspace, name=name)
        return Response(delivery_body(alerts.alert_channel_test(actor=request.user, channel=channel)))


class AlertDeliveryListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="The workspace's latest alert deliveries")
    def get(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        return Response({"results": [delivery_body(d) for d in selectors.alert_delivery_list(workspace=workspace)]})
