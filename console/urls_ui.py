"""Console pages (htmx).

Service pages are /services/<name>/. Pages that are not one service live under
/services/-/: "-" cannot start a service name, so no service can shadow them.
Hosts and the dashboard are for administrators (staff) only.
"""

from django.urls import path

from console import views, views_engine

urlpatterns = [
    path("services/", views.service_list, name="service-list"),
    path("services/-/new", views.service_create, name="service-create"),
    path("services/-/preview", views.service_preview, name="service-preview"),
    # Same name twice: reverse("service-download") is the form's, reverse(..., args=[name]) a saved service's.
    path("services/-/download", views.service_download_form, name="service-download"),
    path("services/-/test-pull", views_engine.service_test_pull, name="service-test-pull"),
    path("services/<str:name>/", views_engine.service_detail, name="service-detail"),
    path("services/<str:name>/stop", views_engine.service_action, {"action": "stop"}, name="service-stop"),
    path("services/<str:name>/start", views_engine.service_action, {"action": "start"}, name="service-start"),
    path("services/<str:name>/restart", views_engine.service_action, {"action": "restart"}, name="service-restart"),
    path(
        "services/<str:name>/versions/<int:number>/rollback", views_engine.service_rollback, name="service-rollback"
    ),
    path("services/<str:name>/instances/<str:instance>/logs", views_engine.instance_logs, name="instance-logs"),
    path(
        "services/<str:name>/instances/<str:instance>/logs/download",
        views_engine.instance_logs_download,
        name="instance-logs-download",
    ),
    path("services/<str:name>/edit", views.service_edit, name="service-edit"),
    path("services/<str:name>/download", views.service_download, name="service-download"),
    path("services/<str:name>/delete", views.service_delete, name="service-delete"),
    path("workspaces/-/new", views.workspace_create, name="workspace-create"),
    path("workspaces/-/switch", views.workspace_switch, name="workspace-switch"),
    path("workspaces/<slug:slug>/", views.workspace_detail, name="workspace-detail"),
    path("workspaces/<slug:slug>/members", views.member_add, name="workspace-member-add"),
    path("workspaces/<slug:slug>/members/<str:username>/role", views.member_change, name="workspace-member-change"),
    path("workspaces/<slug:slug>/members/<str:username>/remove", views.member_remove, name="workspace-member-remove"),
    path("workspaces/<slug:slug>/credentials", views.registry_credential_add, name="registry-credential-add"),
    path(
        "workspaces/<slug:slug>/credentials/<str:name>/delete",
        views.registry_credential_delete,
        name="registry-credential-delete",
    ),
    path("api-keys/", views.api_key_list, name="api-key-list"),
    path("api-keys/new", views.api_key_create, name="api-key-create"),
    path("api-keys/<int:pk>/delete", views.api_key_delete, name="api-key-delete"),
    path("hosts/", views_engine.host_list, name="host-list"),
    path("hosts/-/new", views_engine.host_add, name="host-add"),
    path("hosts/<slug:name>/drain", views_engine.host_drain, {"drain": True}, name="host-drain"),
    path("hosts/<slug:name>/undrain", views_engine.host_drain, {"drain": False}, name="host-undrain"),
    path("hosts/<slug:name>/remove", views_engine.host_remove, name="host-remove"),
    path("dashboard/", views_engine.dashboard, name="dashboard"),
    path("dashboard/workers", views_engine.dashboard_workers, name="dashboard-workers"),
]
