"""The Content-Security-Policy middleware (django-csp) plus the gateway's origins in connect-src.

The "try it" panel calls the gateway from the browser; its endpoints are read from the settings at
each response, so a changed BERTH_INTERNET_ENDPOINT / BERTH_INTRANET_ENDPOINT is followed.
"""

from django.conf import settings
from csp.middleware import CSPMiddleware


def gateway_origins() -> list[str]:
    origins = set()
    for url in (settings.BERTH_INTERNET_ENDPOINT, settings.BERTH_INTRANET_ENDPOINT):
        scheme, _, rest = (url or "").partition("://")
        if scheme and rest:
            origins.add(f"{scheme}://{rest.split('/', 1)[0]}")
    return sorted(origins)


class GatewayCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), *gateway_origins()]
        parts.update = update
        return parts
