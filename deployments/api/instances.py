"""A service's instances, events and logs.
"""

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.engine import hosts
from deployments.engine import logs as engine_logs
from deployments.storage import reads as storage_reads


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
        parameters=[
            OpenApiParameter("instance", str, description="an instance name; `all` interleaves every instance by time"),
            OpenApiParameter("tail", str, description="lines per instance, 1-10000 or `all` (default 200)"),
            OpenApiParameter("since", str, description="5m, 15m, 1h, 6h, 24h or a number of seconds"),
            OpenApiParameter("q", str, description="only lines containing this text (case-insensitive)"),
            OpenApiParameter("timestamps", bool, description="prefix each line with Docker's RFC 3339 time"),
            OpenApiParameter("follow", bool),
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR},
        summary="An instance's logs (the first instance when none is named, every one with instance=all); "
        "follow=true streams one instance",
    )
    def get(self, request, name: str):

        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        instances = selectors.service_instances(service=service)
        wanted = request.query_params.get("instance")
        options = engine_logs.LogOptions.from_query(request.query_params)
        if wanted == "all":
            lines, problems = engine_logs.read(list(instances), options)
            if problems and not lines:
                return Response({"detail": "; ".join(problems)}, status=502)
            text = engine_logs.as_text(lines, timestamps=options.timestamps, with_instance=True)
            return HttpResponse(text, content_type="text/plain; charset=utf-8")
        instance = instances.filter(name=wanted).first() if wanted else instances.first()
        if instance is None or instance.host is None:
            return Response({"detail": f"no instance {wanted!r}" if wanted else "the service has no instances"}, status=404)
        if request.query_params.get("follow") in ("1", "true", "yes"):
            tail = options.tail if isinstance(options.tail, int) else engine_logs.DEFAULT_TAIL
            runtime = hosts.host_runtime(instance.host)
            return StreamingHttpResponse(runtime.follow_logs(instance.name, tail=tail), content_type="text/plain; charset=utf-8")
        lines, problems = engine_logs.read([instance], options)
        if problems:
            return Response({"detail": problems[0]}, status=502)
        text = engine_logs.as_text(lines, timestamps=options.timestamps, with_instance=False)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")
