"""Storage pages; console/urls.py includes these at the root, before console.urls_ui."""

from django.urls import path

from console import views_storage

urlpatterns = [
    path("workspaces/<slug:slug>/object-stores/", views_storage.object_store_list, name="object-store-list"),
    path("workspaces/<slug:slug>/object-stores/-/new", views_storage.object_store_create, name="object-store-create"),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/default",
        views_storage.object_store_default,
        name="object-store-default",
    ),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/delete", views_storage.object_store_delete, name="object-store-delete"
    ),
    path(
        "workspaces/<slug:slug>/object-stores/<str:name>/check", views_storage.object_store_check, name="object-store-check"
    ),
    path("services/<str:name>/mounts", views_storage.service_mounts, name="service-mounts"),
]
