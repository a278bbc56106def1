"""Hosts and Swarm clusters (administrators): list, register (a cluster by its manager's endpoint), nodes."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.actions import clusters
from deployments.actions.hosts import host_register
from deployments.errors import ConfigInvalid, Forbidden, NotFound
from deployments.models import DockerHost

_FIELDS = ("name", "kind", "url", "address", "status", "cpus", "memory_mb", "message")


def host_body(host: DockerHost) -> dict:
    body = {field: getattr(host, field) for field in _FIELDS}
    body["last_heartbeat"] = host.last_heartbeat.isoformat() if host.last_heartbeat else None
    body["instances"] = getattr(host, "instance_count", None)
    return body  # TLS material is never returned


def _staff(request) -> None:
    if not request.user.is_staff:
        raise Forbidden("only administrators manage hosts and clusters")


def _host(name: str) -> DockerHost:
    host = DockerHost.objects.filter(name=name).first()
    if host is None:
        raise NotFound(f"no host or cluster named {name!r}")
    return host


class HostListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Hosts and clusters", operation_id="v1_hosts_list")
    def get(self, request):
        _staff(request)
        return Response({"hosts": [host_body(h) for h in selectors.host_list_with_usage()]})

    @extend_schema(
        request=inline_serializer(
            "HostRegister",
            {
                "name": serializers.SlugField(),
                "kind": serializers.ChoiceField(["engine", "swarm"], required=False),
                "url": serializers.CharField(),
                "address": serializers.CharField(required=False),
                "tls": serializers.DictField(required=False),
            },
        ),
        responses={201: OpenApiTypes.OBJECT},
        summary="Register a host, or a Swarm cluster by its manager's endpoint (kind swarm); a known name is updated",
        operation_id="v1_hosts_register",
    )
    def post(self, request):
        _staff(request)
        data = request.data if isinstance(request.data, dict) else {}
        missing = [{"path": key, "message": "required"} for key in ("name", "url") if not data.get(key)]
        if missing:
            raise ConfigInvalid(missing)
        host = host_register(
            actor=request.user, name=str(data["name"]), url=str(data["url"]), kind=str(data.get("kind") or "engine"),
            address=str(data.get("address") or "127.0.0.1"), tls=data.get("tls") or None,
        )  # fmt: skip
        return Response(host_body(host), status=201)


class NodeListView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT}, summary="A cluster's nodes with their instances", operation_id="v1_nodes"
    )
    def get(self, request, name: str):
        _staff(request)
        return Response({"nodes": clusters.cluster_nodes(actor=request.user, host=_host(name))})


class NodeAvailabilityView(APIView):
    @extend_schema(
        request=inline_serializer("NodeAvailability", {"availability": serializers.ChoiceField(["active", "drain"])}),
        responses={200: OpenApiTypes.OBJECT},
        summary="Drain a node (its tasks move elsewhere) or make it active again",
        operation_id="v1_node_availability",
    )
    def post(self, request, name: str, node_id: str):
        _staff(request)
        data = request.data if isinstance(request.data, dict) else {}
        clusters.cluster_node_availability(
            actor=request.user, host=_host(name), node_id=node_id, availability=str(data.get("availability") or "")
        )
        return Response({"node": node_id, "availability": data.get("availability")})
