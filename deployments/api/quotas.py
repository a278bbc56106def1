"""One workspace with its quotas and usage: members read it, administrators set the quotas."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.actions import quotas
from deployments.errors import Forbidden, NotFound
from deployments.models import Workspace


def workspace_body(workspace: Workspace, role: str | None) -> dict:
    return {"slug": workspace.slug, "name": workspace.name, "role": role, **quotas.quota_body(workspace)}


def _workspace_for(user, slug: str) -> tuple[Workspace, str | None]:
    """Members see their workspace; administrators see every one (they set the quotas)."""
    if user.is_staff:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise NotFound(f"no workspace named {slug!r}")
        membership = workspace.memberships.filter(user=user).first()
        return workspace, membership.role if membership else None
    workspace, membership = selectors.workspace_get_for_user(user=user, slug=slug)
    return workspace, membership.role


class WorkspaceDetailView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="A workspace with its quotas and usage",
        operation_id="v1_workspace_get",
    )
    def get(self, request, slug: str):
        workspace, role = _workspace_for(request.user, slug)
        return Response(workspace_body(workspace, role))

    @extend_schema(
        request=inline_serializer(
            "WorkspaceQuotas",
            {
                "max_instances": serializers.IntegerField(allow_null=True, required=False),
                "max_cpu": serializers.FloatField(allow_null=True, required=False),
                "max_memory_mb": serializers.IntegerField(allow_null=True, required=False),
            },
        ),
        responses={200: OpenApiTypes.OBJECT},
        summary="Set a workspace's quotas (administrators only; null: unlimited)",
        operation_id="v1_workspace_quotas_set",
    )
    def patch(self, request, slug: str):
        if not request.user.is_staff:
            # Members learn that they may not; outsiders do not learn that the workspace exists.
            _workspace_for(request.user, slug)
            raise Forbidden("only administrators set workspace quotas")
        workspace, role = _workspace_for(request.user, slug)
        data = request.data if isinstance(request.data, dict) else {}
        workspace = quotas.workspace_quota_set(actor=request.user, workspace=workspace, changes=dict(data))
        return Response(workspace_body(workspace, role))
