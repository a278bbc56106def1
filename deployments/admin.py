from django.contrib import admin

from deployments.models import ApiKey, Membership, Profile, RegistryCredential, Service, ServiceVersion, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
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
