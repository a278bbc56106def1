"""REST API (/api/v1/): thin views that validate input, call a service, serialize output.

Domain errors become HTTP in deployments/api_errors.py. Service configs are free-form
JSON validated by deployments.spec, so views read `request.data` directly.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from deployments import engine, lifecycle, selectors, services, spec, storage
from deployments.choices import ServiceStatus
from deployments.models import Service, ServiceVersion

# --- output shapes ---------------------------------------------------------------------------

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
    body["counts"] = engine.service_counts(service)
    body["deployment"] = deployment_body(selectors.service_latest_deployment(service=service))
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


# --- services --------------------------------------------------------------------------------


class ServiceValidateView(APIView):
    @extend_schema(
        request=CONFIG,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        summary="Validate a service config (dry run)",
        description="Returns the normalised config (secrets masked) and warnings, or 400 with every error and its path.",
    )
    def post(self, request):
        result = spec.validate_config(request.data)
        if not result.ok:
            return Response({"errors": result.errors, "warnings": result.warnings}, status=400)
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
        if request.query_params.get("workspace"):
            workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=request.query_params["workspace"])
        else:
            workspace = services.workspace_current_for_user(user=request.user)
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


def instance_body(instance) -> dict:
    return {
        "name": instance.name,
        "version": instance.version.number,
        "host": instance.host.name if instance.host else None,
        "host_ip": instance.host.address if instance.host else None,
        "host_port": instance.host_port,
        "status": instance.status,
        "ready": instance.ready,
        "reason": instance.reason,
        "message": instance.message,
        "restarts": instance.restarts,
        "started_at": instance.started_at,
        "last_state": {k: v for k, v in instance.last_state.items() if k != "logs"},
        "mounts": [storage.mount_body(m) for m in instance.mounts.all()],
    }


class ServiceInstanceListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="List a service's instances (eascmd w)")
    def get(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        return Response({"results": [instance_body(i) for i in selectors.service_instances(service=service)]})


class ServiceEventListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("instance", str)],
        responses={200: OpenApiTypes.OBJECT},
        summary="A service's events, newest first",
    )
    def get(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        try:
            limit = max(1, min(int(request.query_params.get("limit", 100)), 1000))
        except ValueError:
            limit = 100
        events = selectors.service_events(service=service, limit=limit, instance=request.query_params.get("instance", ""))
        return Response(
            {
                "results": [
                    {"time": e.created_at, "type": e.type, "reason": e.reason, "message": e.message,
                     "instance": e.instance_name, "actor": e.actor}
                    for e in events
                ]
            }
        )


class ServiceLogsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("instance", str), OpenApiParameter("tail", int), OpenApiParameter("follow", bool)],
        responses={(200, "text/plain"): OpenApiTypes.STR},
        summary="An instance's logs (the first instance when none is named); follow=true streams",
    )
    def get(self, request, name: str):
        from django.http import StreamingHttpResponse

        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        instances = selectors.service_instances(service=service)
        wanted = request.query_params.get("instance")
        instance = instances.filter(name=wanted).first() if wanted else instances.first()
        if instance is None or instance.host is None:
            return Response({"detail": f"no instance {wanted!r}" if wanted else "the service has no instances"}, status=404)
        try:
            tail = max(1, min(int(request.query_params.get("tail", 200)), 10000))
        except ValueError:
            tail = 200
        runtime = engine.host_runtime(instance.host)
        if request.query_params.get("follow") in ("1", "true", "yes"):
            return StreamingHttpResponse(runtime.follow_logs(instance.name, tail=tail), content_type="text/plain; charset=utf-8")
        from django.http import HttpResponse

        return HttpResponse(runtime.logs(instance.name, tail=tail), content_type="text/plain; charset=utf-8")


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
            workspace = services.workspace_current_for_user(user=request.user)
        results = lifecycle.image_test_pull(actor=request.user, workspace=workspace, config=request.data)
        return Response({"ok": all(r["ok"] for r in results), "results": results})


class ServiceConfigSchemaView(APIView):
    """The JSON Schema of a service config, for editors. Public: it holds no data."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="JSON Schema of a service config")
    def get(self, request):
        return Response(spec.service_config_json_schema())


# --- workspaces, members, registry credentials, API keys ------------------------------------


def membership_body(m) -> dict:
    return {"username": m.user.username, "role": m.role}


class WorkspaceListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="List your workspaces")
    def get(self, request):
        current = services.workspace_current_for_user(user=request.user)
        memberships = request.user.memberships.select_related("workspace").order_by("workspace__name")
        return Response(
            {
                "results": [
                    {
                        "slug": m.workspace.slug,
                        "name": m.workspace.name,
                        "role": m.role,
                        "current": m.workspace_id == current.pk,
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
        workspace = services.workspace_create(name=str(request.data.get("name", "")), owner=request.user)
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
        membership = services.membership_set(
            actor=request.user,
            workspace=workspace,
            username=str(request.data.get("username", "")),
            role=str(request.data.get("role", "")),
        )
        return Response(membership_body(membership))


class WorkspaceMemberDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Remove a member (owners only)")
    def delete(self, request, slug: str, username: str):
        workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
        services.membership_remove(actor=request.user, workspace=workspace, username=username)
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
        credential = services.registry_credential_create(
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
        services.registry_credential_delete(actor=request.user, credential=credential)
        return Response(status=204)


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
        key, plain = services.api_key_create(user=request.user, name=str(request.data.get("name", "")))
        return Response({"id": key.pk, "name": key.name, "prefix": key.prefix, "key": plain}, status=201)


class ApiKeyDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Revoke an API key")
    def delete(self, request, key_id: int):
        services.api_key_delete(user=request.user, key_id=key_id)
        return Response(status=204)
