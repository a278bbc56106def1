from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from console import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Gateway routes first: `services/<name>/<action>` would otherwise catch `services/<name>/metrics`.
    path("api/v1/", include("deployments.urls_api_gateway")),
    path("api/v1/", include("deployments.urls_api_storage")),
    path("api/v1/", include("deployments.urls_api")),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    path("", include("console.urls_gateway")),
    path("", include("console.urls_storage")),
    path("", include("console.urls_ui")),
]

# The console's own 403 page says why and shows the user's role; 404 and 500 are templates only.
handler403 = "console.errors.permission_denied"
