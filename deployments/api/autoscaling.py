"""A service's autoscaler and cron scaler, EAS's `/autoscaler` and `/cronscaler` (reference §5.1, §5.2).

Viewers read; developers and owners write. Writing never rolls containers.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments import selectors
from deployments.actions import autoscaling
from deployments.api.services import ERRORS
from deployments.errors import NotFound

AUTOSCALER_EXAMPLE = OpenApiExample(
    "qps",
    value={
        "min": 1,
        "max": 5,
        "scaleStrategies": [{"metricName": "qps", "threshold": 10}],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    },
)
CRONSCALER_EXAMPLE = OpenApiExample(
    "day and night",
    value={
        "ScaleJobs": [
            {"Name": "morning", "Schedule": "0 0 8 * * *", "TargetSize": 4, "TimeZone": "Asia/Shanghai"},
            {"Name": "evening", "Schedule": "0 0 20 * * *", "TargetSize": 1},
        ],
        "ExcludeDates": ["* * * 1 10 *"],
    },
)


class ServiceAutoscalerView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Describe the autoscaler",
        description="The API form with every behaviour value in force, currentMetrics (per instance) and "
        "lastDecision. 404 when the service has no autoscaler.",
    )
    def get(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        body = autoscaling.autoscaler_describe(service=service)
        if body is None:
            raise NotFound(f"service {name!r} has no autoscaler")
        return Response(body)

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        examples=[AUTOSCALER_EXAMPLE],
        summary="Set the autoscaler",
        description="Takes the API form (scaleStrategies) or the config form (strategies). No rollout.",
    )
    def put(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        return Response(autoscaling.autoscaler_set(actor=request.user, service=service, body=request.data))

    @extend_schema(responses={204: None}, summary="Remove the autoscaler (the instance count stays)")
    def delete(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        autoscaling.autoscaler_delete(actor=request.user, service=service)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceCronscalerView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Describe the cron scaler",
        description="Each job with LastProbeTime, State (success/failure) and Message of its last run; NextRun.",
    )
    def get(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        body = autoscaling.cronscaler_describe(service=service)
        if body is None:
            raise NotFound(f"service {name!r} has no cron scaler")
        return Response(body)

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS},
        examples=[CRONSCALER_EXAMPLE],
        summary="Set the cron scaler",
        description="Schedules have 6 fields with a leading seconds field. Jobs count from now on. No rollout.",
    )
    def put(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        return Response(autoscaling.cronscaler_set(actor=request.user, service=service, body=request.data))

    @extend_schema(responses={204: None}, summary="Remove the cron scaler (the instance count stays)")
    def delete(self, request, name: str):
        service, _ = selectors.service_get_for_user(user=request.user, name=name)
        autoscaling.cronscaler_delete(actor=request.user, service=service)
        return Response(status=status.HTTP_204_NO_CONTENT)
