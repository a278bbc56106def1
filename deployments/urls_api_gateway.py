"""Included under /api/v1/ before deployments.urls_api (whose services/<name>/<action> would match first)."""

from django.urls import path

from deployments import api_gateway

urlpatterns = [
    path("services/<str:name>/metrics", api_gateway.ServiceMetricsView.as_view(), name="api-service-metrics"),
]
