from django.contrib import admin

from deployments.models import (
    ApiKey,
    Deployment,
    DockerHost,
    Event,
    Instance,
    Membership,
    Profile,
    RegistryCredential,
    Service,
    ServiceVersion,
    TrafficSample,
    Workspace,
)
from deployments.models.storage import InstanceMount, ObjectStore


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "max_instances", "max_cpu", "max_memory_mb", "created_at")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role")
    list_filter = ("role",)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "current_workspace")


@admin.register(RegistryCredential)
class RegistryCredentialAdmin(admin.ModelAdmin):
    list_display = ("name", "registry", "username", "workspace")
    # The password is never shown, not even to admins.
    exclude = ("password",)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "status", "instance", "latest_version_number", "updated_at")
    list_filter = ("status",)
    search_fields = ("name",)
    exclude = ("token",)
    list_select_related = ("workspace",)


@admin.register(ServiceVersion)
class ServiceVersionAdmin(admin.ModelAdmin):
    list_display = ("service", "number", "created_by", "created_at")
    exclude = ("secrets",)
    list_select_related = ("service", "created_by")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    exclude = ("key_hash",)


@admin.register(DockerHost)
class DockerHostAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "address", "status", "cpus", "memory_mb", "last_heartbeat")
    list_filter = ("status",)
    exclude = ("tls_ca", "tls_cert", "tls_key")


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("service", "kind", "status", "phase", "created_at", "finished_at")
    list_filter = ("kind", "status")
    list_select_related = ("service",)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "service",
        "host",
        "address",
        "port",
        "host_port",
        "status",
        "ready",
        "restarts",
        "started_at",
    )
    list_filter = ("status", "ready")
    list_select_related = ("service", "host")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "service", "type", "reason", "message", "actor")
    list_filter = ("type",)
    list_select_related = ("service",)


@admin.register(TrafficSample)
class TrafficSampleAdmin(admin.ModelAdmin):
    list_display = ("service", "instance", "at", "requests", "latency_p95_ms")
    list_select_related = ("service",)


@admin.register(ObjectStore)
class ObjectStoreAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "endpoint_url", "is_default")
    list_select_related = ("workspace",)
    exclude = ("access_key_id", "secret_access_key")


@admin.register(InstanceMount)
class InstanceMountAdmin(admin.ModelAdmin):
    list_display = ("instance", "mount_path", "kind", "source", "read_only")
    list_select_related = ("instance",)
