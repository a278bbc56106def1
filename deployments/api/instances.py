"""A service's instances, events and logs."""

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.engine import hosts
from deployments.storage import reads as storage_reads


def instance_body(instance) -> dict:
    return {
        "name": instance.name,
        "version": instance.version.number,
        "host": instance.host.name if instance.host else None,
        "host_ip": instance.host.address if instance.host else None,
        "host_port": instance.host_port,
        # Where the gateway and the prober dial it (the container address on its workspace network, or
        # the host address and published port).
        "address": instance.address,
        "port": instance.port,
        "status": instance.status,
        "ready": instance.ready,
        "reason": instance.reason,
        "message": instance.message,
        "restarts": instance.restarts,
        "started_at": instance.started_at,
        "last_state": {k: v for k, v in instance.last_state.items() if k != "logs"},
        "mounts": [storage_reads.mount_body(m) for m in instance.mounts.all()],
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
        events = selectors.service_events(
            service=service, limit=limit, instance=request.query_params.get("instance", "")
        )
        return Response(
            {
                "results": [
                    {
                        "time": e.created_at,
                        "type": e.type,
                        "reason": e.reason,
                        "message": e.message,
                        "instance": e.instance_name,
                        "actor": e.actor,
                    }
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
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        instances = selectors.service_instances(service=service)
        wanted = request.query_params.get("instance")
        instance = instances.filter(name=wanted).first() if wanted else instances.first()
        if instance is None or instance.host is None:
            return Response(
                {"detail": f"no instance {wanted!r}" if wanted else "the service has no instances"}, status=404
            )
        try:
            tail = max(1, min(int(request.query_params.get("tail", 200)), 10000))
        except ValueError:
            tail = 200
        runtime = hosts.host_runtime(instance.host)
        if request.query_params.get("follow") in ("1", "true", "yes"):
            return StreamingHttpResponse(
                runtime.follow_logs(instance.name, tail=tail), content_type="text/plain; charset=utf-8"
            )

        return HttpResponse(runtime.logs(instance.name, tail=tail), content_type="text/plain; charset=utf-8")
