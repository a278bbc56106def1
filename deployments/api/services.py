"""Services: list, create, validate, detail, modify, delete, versions, actions, scale, rollback, token.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from deployments import selectors, spec
from deployments.actions import images, lifecycle, services, workspaces
from deployments.choices import ServiceStatus
from deployments.engine.status import service_counts
from deployments.models import Service, ServiceVersion
from deployments.queued import queued_note

ERRORS = inline_serializer(
    "ConfigErrors",
    {
        "errors": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
        "warnings": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
    },
)


CONFIG = OpenApiTypes.OBJECT


def service_summary(service: Service) -> dict:
    """The list shape: what `berth ls` prints."""
    return {
        "name": service.name,
        "workspace": service.workspace.slug,
        "status": service.status,
        "message": service.message,
        "instance": service.instance,
        "current_version": service.current_version.number if service.current_version else None,
        "latest_version": service.latest_version_number,
        "service_path": f"/api/predict/{service.name}",
        # Host pool (eascmd's REGION): prefetched by the list selector.
        "hosts": sorted({i.host.name for i in service.instances.all() if i.host}),
        "created_at": service.created_at,
        "updated_at": service.updated_at,
    }


def deployment_body(deployment) -> dict | None:
    if deployment is None:
        return None
    return {
        "id": deployment.pk,
        "kind": deployment.kind,
        "version": deployment.version.number if deployment.version else None,
        "status": deployment.status,
        "phase": deployment.phase,
        "message": deployment.message,
        "created_at": deployment.created_at,
        "finished_at": deployment.finished_at,
    }


def service_detail(service: Service, membership, warnings: list | None = None) -> dict:
    body = service_summary(service)
    body["counts"] = service_counts(service)
    latest = selectors.service_latest_deployment(service=service)
    body["deployment"] = deployment_body(latest)
    if note := queued_note(latest):  # Redis or the worker is down: say so rather than look stuck
        body["deployment"]["queued"] = note
    body["endpoints"] = selectors.service_endpoints(service=service)
    if selectors.can_see_token(membership):
        body["token"] = service.token
    body["config"] = services.service_config(service=service)
    if warnings is not None:
        body["warnings"] = warnings
    return body


def version_body(version: ServiceVersion, current_id: int | None) -> dict:
    return {
        "number": version.number,
        "current": version.pk == current_id,
        "created_at": version.created_at,
        "created_by": version.created_by.username if version.created_by else None,
        "config": version.config,
    }


def _target_workspace(request):
    """The workspace a new service goes to: `?workspace=<slug>` (access-checked), else the user's current one."""
    if request.query_params.get("workspace"):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=request.query_params["workspace"])
        return workspace
    return workspaces.workspace_current_ensure(user=request.user)


class ServiceValidateView(APIView):
    @extend_schema(
        request=CONFIG,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        parameters=[OpenApiParameter("workspace", str, description="workspace slug; default: your current one")],
        summary="Validate a service config (dry run)",
        description=(
            "Runs every check create runs, in the target workspace (reserved names, saved registry credentials, "
            "object stores, host-path roots). Returns the normalised config (secrets masked) and warnings, "
            "or 400 with every error and its path."
        ),
    )
    def post(self, request):
        workspace = _target_workspace(request)
        result = services.service_config_validate(config=request.data, workspace=workspace)
        return Response({"config": spec.mask_secrets(result.config), "warnings": result.warnings})


class ServiceListView(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        parameters=[
            OpenApiParameter("workspace", str, description="workspace slug"),
            OpenApiParameter("search", str, description="substring of the service name"),
            OpenApiParameter("status", str, enum=ServiceStatus.values),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
        operation_id="services_list",
        summary="List services in your workspaces",
    )
    def get(self, request):
        workspace = None
        if request.query_params.get("workspace"):
            workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=request.query_params["workspace"])
        qs = selectors.service_list_for_user(
            user=request.user,
            workspace=workspace,
            search=request.query_params.get("search", ""),
            status=request.query_params.get("status", ""),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([service_summary(s) for s in page])

    @extend_schema(
        request=CONFIG,
        parameters=[OpenApiParameter("workspace", str, description="workspace slug; default: your current one")],
        responses={201: OpenApiTypes.OBJECT, 400: ERRORS},
        operation_id="services_create",
        summary="Create a service from an EAS-style config",
    )
    def post(self, request):
        workspace = _target_workspace(request)
        service, warnings = services.service_create(actor=request.user, workspace=workspace, config=request.data)
        _, membership = selectors.service_get_for_user(user=request.user, name=service.name)
        return Response(service_detail(service, membership, warnings), status=status.HTTP_201_CREATED)


class ServiceDetailView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Describe a service")
    def get(self, request, name: str):
        service, membership = selectors.service_get_for_user(user=request.user, name=name)
        return Response(service_detail(service, membership))

    @extend_schema(
        request=CONFIG,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        summary="Replace a service's config",
        description="A masked secret ('****') sent back unchanged keeps the stored value.",
    )
    def put(self, request, name: str):
        service, membership = selectors.service_get_for_user(user=request.user, name=name)
        service, changed, warnings = services.service_update(actor=request.user, service=service, config=request.data)
        return Response({**service_detail(service, membership, warnings), "new_version": changed})

    @extend_schema(
        request=CONFIG,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        summary="Change part of a service's config",
        description=(
            "A JSON merge patch (RFC 7386; arrays are replaced whole, null deletes), as `eascmd modify -s` merges. "
            "Top-level keys with dots or indexes set one value, as `eascmd modify -D` does: "
            '{"metadata.instance": 4, "containers[0].image": "repo/app:2"}.'
        ),
    )
    def patch(self, request, name: str):
        service, membership = selectors.service_get_for_user(user=request.user, name=name)
        service, changed, warnings = services.service_patch(actor=request.user, service=service, patch=request.data)
        return Response({**service_detail(service, membership, warnings), "new_version": changed})

    @extend_schema(
        responses={202: OpenApiTypes.OBJECT, 204: None},
        summary="Delete a service",
        description="204 when nothing was running; 202 while the engine removes its containers (status Deleting).",
    )
    def delete(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        if services.service_delete(actor=request.user, service=service):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response({"detail": "deleting", "status": "Deleting"}, status=status.HTTP_202_ACCEPTED)


class ServiceVersionListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="List a service's versions, newest first")
    def get(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        versions = service.versions.select_related("created_by").order_by("-number")
        return Response({"results": [version_body(v, service.current_version_id) for v in versions]})


class ServiceActionView(APIView):
    """POST /services/<name>/<action>: stop, start, restart."""

    actions = {"stop": lifecycle.service_stop, "start": lifecycle.service_start, "restart": lifecycle.service_restart}

    @extend_schema(
        request=None,
        responses={202: OpenApiTypes.OBJECT},
        operation_id="services_action",
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=["stop", "start", "restart"])],
        summary="Stop, start or restart a service",
    )
    def post(self, request, name: str, action: str):
        service, membership = selectors.service_get_for_user(user=request.user, name=name)
        if action not in self.actions:
            return Response({"detail": f"unknown action {action!r}; use one of {', '.join(self.actions)}"}, status=404)
        self.actions[action](actor=request.user, service=service)
        service.refresh_from_db()
        return Response(service_detail(service, membership), status=status.HTTP_202_ACCEPTED)


class ServiceScaleView(APIView):
    @extend_schema(
        request=inline_serializer("Scale", {"instance": serializers.IntegerField(min_value=0)}),
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        summary="Change the instance count (no new version, no restart of running instances)",
    )
    def post(self, request, name: str):
        service, membership = selectors.service_get_for_user(user=request.user, name=name)
        instance = request.data.get("instance") if isinstance(request.data, dict) else None
        service, _, warnings = services.service_patch(actor=request.user, service=service, patch={"metadata.instance": instance})
        return Response(service_detail(service, membership, warnings))


class ServiceRollbackView(APIView):
    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT}, summary="Roll back to version <number>")
    def post(self, request, name: str, number: int):
        service, membership = selectors.service_get_for_user(user=request.user, name=name)
        lifecycle.service_rollback(actor=request.user, service=service, number=number)
        service.refresh_from_db()
        return Response(service_detail(service, membership), status=status.HTTP_202_ACCEPTED)


class ServiceTokenView(APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT}, summary="Rotate the service's access token")
    def post(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        return Response({"token": services.service_token_rotate(actor=request.user, service=service)})


class ImageTestPullView(APIView):
    @extend_schema(
        request=CONFIG,
        parameters=[OpenApiParameter("workspace", str, description="workspace slug; default: your current one")],
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        summary="Check that a config's images can be pulled with its credentials (nothing is saved)",
    )
    def post(self, request):
        if request.query_params.get("workspace"):
            workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=request.query_params["workspace"])
        else:
            workspace = workspaces.workspace_current_ensure(user=request.user)
        results = images.image_test_pull(actor=request.user, workspace=workspace, config=request.data)
        return Response({"ok": all(r["ok"] for r in results), "results": results})


class ServiceConfigSchemaView(APIView):
    """The JSON Schema of a service config, for editors. Public: it holds no data."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="JSON Schema of a service config")
    def get(self, request):
        return Response(spec.service_config_json_schema())
