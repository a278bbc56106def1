"""Every URL of the installation, in one place: the console's pages, the API, admin, metrics.

Service pages are /services/<name>/. Pages that are not one service live under
/services/-/: "-" cannot start a service name, so no service can shadow them.
Hosts and the dashboard are for administrators (staff) only.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from console.views import (
    api_keys,
    autoscaling,
    common,
    dashboard,
    editor,
    gateway,
    hosts,
    logs,
    service_page,
    services,
    storage,
    workspaces,
)

urlpatterns = [
    path("", common.home, name="home"),
    path("healthz", common.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("deployments.api.urls")),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    path("metrics", gateway.prometheus_metrics, name="prometheus-metrics"),
    # services
    path("services/", services.service_list, name="service-list"),
    path("services/-/new", editor.service_create, name="service-create"),
    path("services/-/preview", editor.service_preview, name="service-preview"),
    # Same name twice: reverse("service-download") is the form's, reverse(..., args=[name]) a saved service's.
    path("services/-/download", editor.service_download_form, name="service-download"),
    path("services/-/test-pull", editor.service_test_pull, name="service-test-pull"),
    path("services/<str:name>/", service_page.service_detail, name="service-detail"),
    path("services/<str:name>/stop", service_page.service_action, {"action": "stop"}, name="service-stop"),
    path("services/<str:name>/start", service_page.service_action, {"action": "start"}, name="service-start"),
    path("services/<str:name>/restart", service_page.service_action, {"action": "restart"}, name="service-restart"),
    path(
        "services/<str:name>/versions/<int:number>/rollback", service_page.service_rollback, name="service-rollback"
    ),
    path("services/<str:name>/instances/<str:instance>/logs", logs.instance_logs, name="instance-logs"),
    path(
        "services/<str:name>/instances/<str:instance>/logs/download",
        logs.instance_logs_download,
        name="instance-logs-download",
    ),
    path("services/<str:name>/edit", editor.service_edit, name="service-edit"),
    path("services/<str:name>/download", editor.service_download, name="service-download"),
    path("services/<str:name>/delete", services.service_delete, name="service-delete"),
    path("services/<str:name>/gateway", gateway.service_gateway, name="service-gateway"),
    path("services/<str:name>/token", gateway.service_token, name="service-token-reveal"),
    path("services/<str:name>/mounts", storage.service_mounts, name="service-mounts"),
    path("services/<str:name>/autoscaling", autoscaling.service_autoscaling, name="service-autoscaling"),
    path(
        "services/<str:name>/autoscaling/delete", autoscaling.service_autoscaler_delete, name="service-autoscaler-delete"
    ),
    # workspaces
    path("workspaces/-/new", workspaces.workspace_create, name="workspace-create"),
    path("workspaces/-/switch", workspaces.workspace_switch, name="workspace-switch"),
    path("workspaces/<slug:slug>/", workspaces.workspace_detail, name="workspace-detail"),
    path("workspaces/<slug:slug>/members", workspaces.member_add, name="workspace-member-add"),
    path(
        "workspaces/<slug:slug>/members/<str:username>/role", workspaces.member_change, name="workspace-member-change"
    ),
    path(
        "workspaces/<slug:slug>/members/<str:username>/remove", workspaces.member_remove, name="workspace-member-remove"
    ),
    path("workspaces/<slug:slug>/credentials", workspaces.registry_credential_add, name="registry-credential-add"),
    path(
        "workspaces/<slug:slug>/credentials/<str:name>/delete",
        workspaces.registry_credential_delete,
        name="registry-credential-delete",
    ),
    path("workspaces/<slug:slug>/object-stores/", storage.object_store_list, name="object-store-list"),
    path("workspaces/<slug:slug>/object-stores/-/new", storage.object_store_create, name="object-store-create"),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/default",
        storage.object_store_default,
        name="object-store-default",
    ),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/delete", storage.object_store_delete, name="object-store-delete"
    ),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/check", storage.object_store_check, name="object-store-check"
    ),
    # personal and administrative pages
    path("api-keys/", api_keys.api_key_list, name="api-key-list"),
    path("api-keys/new", api_keys.api_key_create, name="api-key-create"),
    path("api-keys/<int:pk>/delete", api_keys.api_key_delete, name="api-key-delete"),
    path("hosts/", hosts.host_list, name="host-list"),
    path("hosts/-/new", hosts.host_add, name="host-add"),
    path("hosts/<slug:name>/drain", hosts.host_drain, {"drain": True}, name="host-drain"),
    path("hosts/<slug:name>/undrain", hosts.host_drain, {"drain": False}, name="host-undrain"),
    path("hosts/<slug:name>/remove", hosts.host_remove, name="host-remove"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/workers", dashboard.dashboard_workers, name="dashboard-workers"),
]
