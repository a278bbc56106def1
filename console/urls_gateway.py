"""Gateway pages; console/urls.py includes these at the root."""

from django.urls import path

from console import views_gateway

urlpatterns = [
    path("metrics", views_gateway.prometheus_metrics, name="prometheus-metrics"),
    path("services/<str:name>/gateway", views_gateway.service_gateway, name="service-gateway"),
    path("services/<str:name>/token", views_gateway.service_token, name="service-token-reveal"),
]
