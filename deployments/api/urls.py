"""Every route of the REST API under /api/v1/, in one place.

Order matters where a route with a fixed last segment (metrics, mounts, scale...) would
otherwise be taken by `services/<name>/<action>`: those come first.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from deployments.api import api_keys, autoscaling, gateway, instances, services, storage, workspaces

urlpatterns = [
    path("openapi.json", SpectacularAPIView.as_view(), name="openapi"),
    path("schema/service-config.json", services.ServiceConfigSchemaView.as_view(), name="service-config-schema"),
    path("services", services.ServiceListView.as_view(), name="api-services"),
    path("services/validate", services.ServiceValidateView.as_view(), name="api-service-validate"),
    path("services/test-pull", services.ImageTestPullView.as_view(), name="api-service-test-pull"),
    path("services/<str:name>", services.ServiceDetailView.as_view(), name="api-service"),
    path("services/<str:name>/versions", services.ServiceVersionListView.as_view(), name="api-service-versions"),
    path(
        "services/<str:name>/versions/<int:number>/rollback",
        services.ServiceRollbackView.as_view(),
        name="api-service-rollback",
    ),
    path("services/<str:name>/scale", services.ServiceScaleView.as_view(), name="api-service-scale"),
    path("services/<str:name>/autoscaler", autoscaling.ServiceAutoscalerView.as_view(), name="api-service-autoscaler"),
    path("services/<str:name>/cronscaler", autoscaling.ServiceCronscalerView.as_view(), name="api-service-cronscaler"),
    path("services/<str:name>/token", services.ServiceTokenView.as_view(), name="api-service-token"),
    path("services/<str:name>/instances", instances.ServiceInstanceListView.as_view(), name="api-service-instances"),
    path("services/<str:name>/events", instances.ServiceEventListView.as_view(), name="api-service-events"),
    path("services/<str:name>/logs", instances.ServiceLogsView.as_view(), name="api-service-logs"),
    path("services/<str:name>/metrics", gateway.ServiceMetricsView.as_view(), name="api-service-metrics"),
    path("services/<str:name>/mounts", storage.ServiceMountListView.as_view(), name="api-service-mounts"),
    path("services/<str:name>/<str:action>", services.ServiceActionView.as_view(), name="api-service-action"),
    path("workspaces", workspaces.WorkspaceListView.as_view(), name="api-workspaces"),
    path("workspaces/<slug:slug>/members", workspaces.WorkspaceMemberListView.as_view(), name="api-members"),
    path(
        "workspaces/<slug:slug>/members/<str:username>",
        workspaces.WorkspaceMemberDetailView.as_view(),
        name="api-member",
    ),
    path(
        "workspaces/<slug:slug>/registry-credentials",
        workspaces.RegistryCredentialListView.as_view(),
        name="api-credentials",
    ),
    path(
        "workspaces/<slug:slug>/registry-credentials/<str:name>",
        workspaces.RegistryCredentialDetailView.as_view(),
        name="api-credential",
    ),
    path("workspaces/<slug:slug>/object-stores", storage.ObjectStoreListView.as_view(), name="api-object-stores"),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>",
        storage.ObjectStoreDetailView.as_view(),
        name="api-object-store",
    ),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/check",
        storage.ObjectStoreCheckView.as_view(),
        name="api-object-store-check",
    ),
    path("api-keys", api_keys.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", api_keys.ApiKeyDetailView.as_view(), name="api-key"),
]
