"""Response schemas for the OpenAPI document, so clients (and the Schemathesis run) can check answers.

Shapes only: the views build the bodies (deployments/api/services.py `service_summary`, `service_detail`).
"""

from rest_framework import serializers

from deployments.choices import ServiceStatus


class ServiceSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    workspace = serializers.CharField()
    status = serializers.ChoiceField(choices=ServiceStatus.choices)
    message = serializers.CharField(allow_blank=True)
    instance = serializers.IntegerField()
    current_version = serializers.IntegerField(allow_null=True)
    latest_version = serializers.IntegerField(allow_null=True)
    service_path = serializers.CharField()
    hosts = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ServiceListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ServiceSummarySerializer(many=True)


class ServiceDetailSerializer(ServiceSummarySerializer):
    counts = serializers.JSONField()
    deployment = serializers.JSONField(allow_null=True)
    endpoints = serializers.JSONField()
    token = serializers.CharField(required=False, help_text="owners and developers only")
    config = serializers.JSONField()
    warnings = serializers.ListField(child=serializers.JSONField(), required=False)


class DetailErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


SERVICE_LIST = ServiceListSerializer
SERVICE_DETAIL = ServiceDetailSerializer
DETAIL_ERROR = DetailErrorSerializer
