from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from deployments import api

urlpatterns = [
    path("openapi.json", SpectacularAPIView.as_view(), name="openapi"),
    path("schema/service-config.json", api.ServiceConfigSchemaView.as_view(), name="service-config-schema"),
    path("services", api.ServiceListView.as_view(), name="api-services"),
    path("services/validate", api.ServiceValidateView.as_view(), name="api-service-validate"),
    path("services/test-pull", api.ImageTestPullView.as_view(), name="api-service-test-pull"),
    path("services/<str:name>", api.ServiceDetailView.as_view(), name="api-service"),
    path("services/<str:name>/versions", api.ServiceVersionListView.as_view(), name="api-service-versions"),
    path(
        "services/<str:name>/versions/<int:number>/rollback", api.ServiceRollbackView.as_view(), name="api-service-rollback"
    ),
    path("services/<str:name>/scale", api.ServiceScaleView.as_view(), name="api-service-scale"),
    path("services/<str:name>/token", api.ServiceTokenView.as_view(), name="api-service-token"),
    path("services/<str:name>/instances", api.ServiceInstanceListView.as_view(), name="api-service-instances"),
    path("services/<str:name>/events", api.ServiceEventListView.as_view(), name="api-service-events"),
    path("services/<str:name>/logs", api.ServiceLogsView.as_view(), name="api-service-logs"),
    path("services/<str:name>/<str:action>", api.ServiceActionView.as_view(), name="api-service-action"),
    path("workspaces", api.WorkspaceListView.as_view(), name="api-workspaces"),
    path("workspaces/<slug:slug>/members", api.WorkspaceMemberListView.as_view(), name="api-members"),
    path("workspaces/<slug:slug>/members/<str:username>", api.WorkspaceMemberDetailView.as_view(), name="api-member"),
    path(
        "workspaces/<slug:slug>/registry-credentials",
        api.RegistryCredentialListView.as_view(),
        name="api-credentials",
    ),
    path(
        "workspaces/<slug:slug>/registry-credentials/<str:name>",
        api.RegistryCredentialDetailView.as_view(),
        name="api-credential",
    ),
    path("api-keys", api.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", api.ApiKeyDetailView.as_view(), name="api-key"),
]
