"""Workspaces, members and saved registry credentials.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors, spec
from deployments.actions import credentials, workspaces
from deployments.api.bodies import object_body
from deployments.api.services import ERRORS


def membership_body(m) -> dict:
    return {"username": m.user.username, "role": m.role}


class WorkspaceListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="List your workspaces")
    def get(self, request):
        current = selectors.workspace_current_for_user(user=request.user)
        memberships = request.user.memberships.select_related("workspace").order_by("workspace__name")
        return Response(
            {
                "results": [
                    {
                        "slug": m.workspace.slug,
                        "name": m.workspace.name,
                        "role": m.role,
                        "current": current is not None and m.workspace_id == current.pk,
                    }
                    for m in memberships
                ]
            }
        )

    @extend_schema(
        request=inline_serializer("WorkspaceCreate", {"name": serializers.CharField()}),
        responses={201: OpenApiTypes.OBJECT},
        summary="Create a workspace (you become its owner)",
    )
    def post(self, request):
        workspace = workspaces.workspace_create(name=str(object_body(request).get("name", "")), owner=request.user)
        return Response({"slug": workspace.slug, "name": workspace.name, "role": "owner"}, status=201)


class WorkspaceMemberListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="List a workspace's members")
    def get(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        return Response({"results": [membership_body(m) for m in selectors.membership_list(workspace=workspace)]})

    @extend_schema(
        request=inline_serializer(
            "MemberSet", {"username": serializers.CharField(), "role": serializers.ChoiceField(["owner", "developer", "viewer"])}
        ),
        responses={200: OpenApiTypes.OBJECT},
        summary="Add a member or change their role (owners only)",
    )
    def post(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        membership = workspaces.membership_set(
            actor=request.user,
            workspace=workspace,
            username=str(object_body(request).get("username", "")),
            role=str(object_body(request).get("role", "")),
        )
        return Response(membership_body(membership))


class WorkspaceMemberDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Remove a member (owners only)")
    def delete(self, request, slug: str, username: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        workspaces.membership_remove(actor=request.user, workspace=workspace, username=username)
        return Response(status=204)


def credential_body(c) -> dict:
    # The password never leaves the server.
    return {"name": c.name, "registry": c.registry, "username": c.username, "password": spec.SECRET_MASK}


class RegistryCredentialListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="List a workspace's registry credentials")
    def get(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        return Response({"results": [credential_body(c) for c in selectors.registry_credential_list(workspace=workspace)]})

    @extend_schema(
        request=inline_serializer(
            "RegistryCredentialCreate",
            {
                "name": serializers.CharField(),
                "registry": serializers.CharField(),
                "username": serializers.CharField(),
                "password": serializers.CharField(),
            },
        ),
        responses={201: OpenApiTypes.OBJECT, 400: ERRORS},
        summary="Save a registry credential (the password is stored encrypted)",
    )
    def post(self, request, slug: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        data = request.data if isinstance(request.data, dict) else {}
        credential = credentials.registry_credential_create(
            actor=request.user,
            workspace=workspace,
            **{field: str(data.get(field, "")) for field in ("name", "registry", "username", "password")},
        )
        return Response(credential_body(credential), status=201)


class RegistryCredentialDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Delete a registry credential")
    def delete(self, request, slug: str, name: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        credential = selectors.registry_credential_list(workspace=workspace).filter(name=name).first()
        if credential is None:
            return Response({"detail": f"no registry credential named {name!r}"}, status=404)
        credentials.registry_credential_delete(actor=request.user, credential=credential)
        return Response(status=204)
