"""Reads that depend on who asks. Each raises NotFound for objects the user may not see."""

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from deployments.choices import EventType, InstanceStatus, Role
from deployments.errors import NotFound
from deployments.models import (
    AlertChannel,
    AlertDelivery,
    ApiKey,
    DockerHost,
    Event,
    Membership,
    ObjectStore,
    Profile,
    RegistryCredential,
    Service,
    Workspace,
)


def workspace_list_for_user(*, user) -> QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def membership_get(*, user, workspace: Workspace) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).first()


def workspace_get_for_user(*, user, slug: str) -> tuple[Workspace, Membership]:
    membership = Membership.objects.select_related("workspace").filter(user=user, workspace__slug=slug).first()
    if membership is None:
        raise NotFound(f"no workspace named {slug!r}")
    return membership.workspace, membership


def workspace_current_for_user(*, user) -> Workspace | None:
    """The workspace the user works in (chosen with workspace_switch, else their first), or None. Reads only:
    the context processor calls it on every page and every htmx poll."""
    profile = Profile.objects.select_related("current_workspace").filter(user=user).first()
    if profile and profile.current_workspace_id:
        if Membership.objects.filter(user=user, workspace_id=profile.current_workspace_id).exists():
            return profile.current_workspace
    membership = Membership.objects.select_related("workspace").filter(user=user).order_by("id").first()
    return membership.workspace if membership else None


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return workspace.memberships.select_related("user").order_by("user__username")


def service_list_for_user(
    *, user, workspace: Workspace | None = None, search: str = "", status: str = ""
) -> QuerySet[Service]:
    """Services in the user's workspaces, with the workspace and current version joined."""
    qs = (
        Service.objects.filter(workspace__memberships__user=user)
        .select_related("workspace", "current_version")
        .prefetch_related("instances__host")
    )
    if workspace is not None:
        qs = qs.filter(workspace=workspace)
    if search:
        qs = qs.filter(name__icontains=search.strip())
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("name")


def service_get_for_user(*, user, name: str) -> tuple[Service, Membership]:
    """The service and the user's membership in its workspace; NotFound for outsiders.

    The message is the same whether the service exists elsewhere or not at all, so
    names in other workspaces are not revealed.
    """
    service = Service.objects.select_related("workspace", "current_version").filter(name=name).first()
    membership = membership_get(user=user, workspace=service.workspace) if service else None
    if service is None or membership is None:
        raise NotFound(f"no service named {name!r}")
    return service, membership


def registry_credential_list(*, workspace: Workspace) -> QuerySet[RegistryCredential]:
    return workspace.registry_credentials.order_by("name")


def api_key_list_for_user(*, user) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("-created_at")


def can_see_token(membership: Membership | None) -> bool:
    """Owners and developers see a service's token; viewers never do."""
    return membership is not None and membership.role in (Role.OWNER, Role.DEVELOPER)


def service_events(*, service: Service, limit: int = 100, instance: str = ""):
    qs = service.events.all()
    if instance:
        qs = qs.filter(instance_name=instance)
    return qs.order_by("-created_at", "-id")[:limit]


def service_instances(*, service: Service):
    return (
        service.instances.select_related("host", "version")
        .prefetch_related("mounts")
        .order_by("version__number", "ordinal")
    )


def service_latest_deployment(*, service: Service):
    return service.deployments.order_by("-created_at", "-id").first()


# --- staff-only reads (the console's hosts page and dashboard; the views check is_staff) -----


def host_list_with_usage():
    """Every Docker host with what its live instances reserve, in one query:
    `used_cpu`, `used_memory_mb`, `instance_count` (Terminating instances excluded, as placement does)."""

    live = ~Q(instances__status=InstanceStatus.TERMINATING)
    return DockerHost.objects.annotate(
        used_cpu=Sum("instances__cpu", filter=live, default=0),
        used_memory_mb=Sum("instances__memory_mb", filter=live, default=0),
        instance_count=Count("instances", filter=live),
    ).order_by("name")


def service_list_all(*, status: str = "") -> QuerySet[Service]:
    """Services of every workspace (administrators' view), workspace and current version joined."""
    qs = Service.objects.select_related("workspace", "current_version")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("name")


def service_status_counts() -> dict[str, int]:
    """{status: number of services} across every workspace, in one query."""

    rows = Service.objects.order_by().values_list("status").annotate(n=Count("id"))
    return {status: n for status, n in rows}


def event_list_warnings(*, since, limit: int = 20):
    """Warning events of every service since `since`, newest first, with service and workspace joined."""

    qs = Event.objects.filter(type=EventType.WARNING, created_at__gte=since).select_related("service__workspace")
    return qs.order_by("-created_at", "-id")[:limit]


def service_endpoints(*, service: Service) -> dict:
    """Where clients call the service: the gateway's Internet and Intranet URLs, and the gRPC
    target (`<service-with-dashes>.<domain>:<port>`) when `metadata.enable_grpc` is on."""

    config = service.current_version.config if service.current_version else {}
    grpc = bool((config.get("metadata") or {}).get("enable_grpc"))
    return {
        "internet": f"{settings.BERTH_INTERNET_ENDPOINT}/api/predict/{service.name}",
        "intranet": f"{settings.BERTH_INTRANET_ENDPOINT}/api/predict/{service.name}",
        "grpc": (
            f"{service.name.replace('_', '-')}.{settings.BERTH_GATEWAY_GRPC_DOMAIN}:{settings.BERTH_GATEWAY_GRPC_PORT}"
            if grpc
            else ""
        ),
    }


def object_store_list(*, workspace: Workspace):
    return workspace.object_stores.order_by("name")


def object_store_get(*, workspace: Workspace, name: str) -> ObjectStore:
    store = workspace.object_stores.filter(name=name).first()
    if store is None:
        raise NotFound(f"no object store named {name!r} in workspace {workspace.name!r}")
    return store


def object_store_for_mount(*, workspace: Workspace, config: dict, entry: dict) -> ObjectStore | None:
    """The connection an oss mount uses: its own berth.object_store, the config's, or the default."""
    name = (entry.get("berth") or {}).get("object_store") or (config.get("berth") or {}).get("object_store")
    if name:
        return workspace.object_stores.filter(name=name).first()
    return workspace.object_stores.filter(is_default=True).first()


def alert_channel_list(*, workspace: Workspace) -> QuerySet[AlertChannel]:
    return workspace.alert_channels.all()


def alert_channel_get(*, workspace: Workspace, name: str) -> AlertChannel:
    channel = workspace.alert_channels.filter(name=name).first()
    if channel is None:
        raise NotFound(f"no alert channel named {name!r} in workspace {workspace.name!r}")
    return channel


def alert_delivery_list(*, workspace: Workspace, limit: int = 20) -> list[AlertDelivery]:
    """The workspace's latest deliveries, newest first (failures show why)."""
    return list(
        AlertDelivery.objects.filter(channel__workspace=workspace).select_related("channel", "incident__service")[
            :limit
        ]
    )
