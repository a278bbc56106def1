"""`Authorization: Bearer <api key>` for API clients (the CLI, scripts)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from deployments.actions.api_keys import API_KEY_PREFIX, api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme != self.keyword or not key.strip().startswith(API_KEY_PREFIX):
            return None  # not ours: let session auth try
        user = api_key_authenticate(plain=key.strip())
        if user is None:
            raise exceptions.AuthenticationFailed("invalid API key; make a new one on the API keys page")
        return user, None

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the API key in the OpenAPI schema (drf-spectacular finds this by its target class)."""

    target_class = "deployments.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "an API key from the console's API keys page"}
