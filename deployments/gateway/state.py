"""What the gateway should serve, read from the database in three cheap queries.

The controller calls `read_state` every tick (~0.5 s), so it reads only narrow value
rows, decrypts a token only when its ciphertext changed (rotation writes a new one)
and parses a version's gateway settings once (versions are immutable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import TextField, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from deployments.choices import InstanceStatus
from deployments.crypto import decrypt
from deployments.models import Instance, Service, ServiceVersion


@dataclass(frozen=True)
class Route:
    """The per-service settings that shape HAProxy's config (a change means a reload)."""

    name: str
    grpc: bool = False
    timeout_ms: int = 0
    rate_limit: int = 0  # requests per second; 0 = off
    concurrency_limit: int = 0  # requests in flight; 0 = off


@dataclass(frozen=True)
class Server:
    """One instance as an HAProxy server; changes are applied through the runtime API."""

    name: str  # "i<instance pk>": stable across restarts and port changes
    instance: str
    address: str
    port: int
    ready: bool


@dataclass
class GatewayState:
    routes: dict[str, Route] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    servers: dict[str, dict[str, Server]] = field(default_factory=dict)  # service -> server name -> Server


def _limit(policy: dict, key: str) -> int:
    limit = policy.get(key) or {}
    return int(limit.get("limit") or 0) if limit.get("enable") else 0


def route_settings(name: str, config: dict) -> Route:
    """Gateway settings from a canonical config: enable_grpc, rpc.keepalive, networking.gateway_policy."""
    metadata = config.get("metadata") or {}
    policy = (config.get("networking") or {}).get("gateway_policy") or {}
    keepalive = int((metadata.get("rpc") or {}).get("keepalive") or 0)
    return Route(
        name=name,
        grpc=bool(metadata.get("enable_grpc")),
        timeout_ms=keepalive or settings.BERTH_GATEWAY_DEFAULT_TIMEOUT_MS,
        rate_limit=_limit(policy, "rate_limit"),
        concurrency_limit=_limit(policy, "concurrency_limit"),
    )


class StateReader:
    """Reads GatewayState; keeps the caches that make a tick cheap."""

    def __init__(self):
        self._tokens: dict[str, str] = {}  # ciphertext -> token
        self._versions: dict[int, dict] = {}  # version pk -> config (immutable)

    def read(self) -> GatewayState:
        state = GatewayState()
        # Cast keeps the column as stored: comparing ciphertexts spots a rotation without decrypting.
        rows = Service.objects.annotate(raw_token=Cast("token", output_field=TextField())).values_list(
            "id", "name", "current_version_id", "raw_token"
        )
        names: dict[int, str] = {}
        tokens: dict[str, str] = {}
        wanted_versions = set()
        for pk, name, version_id, raw_token in rows:
            names[pk] = name
            wanted_versions.add(version_id)
            if raw_token not in tokens:
                tokens[raw_token] = self._tokens.get(raw_token) or (decrypt(raw_token) if raw_token else "")
            state.tokens[name] = tokens[raw_token]
        self._tokens = tokens  # forget rotated-away tokens
        missing = {v for v in wanted_versions if v is not None and v not in self._versions}
        if missing:
            for version_id, config in ServiceVersion.objects.filter(pk__in=missing).values_list("id", "config"):
                self._versions[version_id] = config or {}
        for pk, name, version_id, _ in rows:
            state.routes[name] = route_settings(name, self._versions.get(version_id, {}))
            state.servers[name] = {}
        instances = Instance.objects.filter(
            status=InstanceStatus.RUNNING, host__isnull=False, host_port__isnull=False
        ).annotate(
            # A Swarm task is reached on its node's address, a single host's container on the host's.
            dial=Coalesce(NullIf("node_address", Value("")), "host__address")
        ).values_list("id", "service_id", "name", "dial", "host_port", "ready")
        for pk, service_id, instance_name, address, port, ready in instances:
            service = names.get(service_id)
            if service is None:
                continue  # created after the service query: the next tick sees both
            server = Server(name=f"i{pk}", instance=instance_name, address=address, port=port, ready=ready)
            state.servers[service][server.name] = server
        return state
