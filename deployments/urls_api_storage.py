"""Storage endpoints, included under /api/v1/ before deployments.urls_api (whose
services/<name>/<action> would otherwise take services/<name>/mounts)."""

from django.urls import path

from deployments import api_storage

urlpatterns = [
    path("services/<str:name>/mounts", api_storage.ServiceMountListView.as_view(), name="api-service-mounts"),
    path("workspaces/<slug:slug>/object-stores", api_storage.ObjectStoreListView.as_view(), name="api-object-stores"),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>", api_storage.ObjectStoreDetailView.as_view(), name="api-object-store"
    ),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/check",
        api_storage.ObjectStoreCheckView.as_view(),
        name="api-object-store-check",
    ),
]
