"""The gateway's REST endpoints: traffic metrics per service and per instance."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.gateway import queries


class ServiceMetricsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("minutes", int, description="how far back, 1 to 1440 (default 60)")],
        responses={200: OpenApiTypes.OBJECT},
        summary="Traffic metrics of a service and its instances",
        description=(
            "Samples taken by the gateway every BERTH_GATEWAY_METRICS_INTERVAL seconds: requests and QPS, "
            "responses by status class, bytes in and out, requests in flight, latency (avg, p50, p95, p99), "
            "and per instance CPU (% of one core) and memory (MB) from the Docker engine."
        ),
    )
    def get(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        raw = request.query_params.get("minutes", "60")
        try:
            minutes = int(raw)
        except ValueError:
            minutes = 0
        if not 1 <= minutes <= 1440:
            raise ValidationError({"minutes": f"must be a whole number of minutes from 1 to 1440, not {raw!r}"})
        return Response(queries.service_traffic(service=service, minutes=minutes))
