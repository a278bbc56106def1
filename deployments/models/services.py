"""Services, their immutable versions, deployments (the job records), instances and events.
"""

from django.conf import settings
from django.db import models

from deployments.choices import (
    DEPLOYMENT_TERMINAL,
    DeploymentKind,
    DeploymentStatus,
    EventType,
    InstanceStatus,
    ServiceStatus,
)
from deployments.crypto import EncryptedJSONField, EncryptedTextField
from deployments.models.hosts import DockerHost
from deployments.models.workspaces import Workspace


class Service(models.Model):
    """A model service. `name` is unique across the installation: it is a URL path."""

    name = models.CharField(max_length=63, unique=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="services")
    status = models.CharField(max_length=16, choices=ServiceStatus.choices, default=ServiceStatus.NOT_DEPLOYED)
    message = models.TextField(blank=True, default="")
    # Desired instance count, kept outside versions: scaling is not a new version.
    instance = models.PositiveIntegerField(default=1)
    token = EncryptedTextField()
    current_version = models.ForeignKey(
        "ServiceVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    latest_version_number = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.name


class ServiceVersion(models.Model):
    """An immutable snapshot of a service's config.

    `config` is the canonical config with every secret replaced by the mask;
    `secrets` holds the real values by JSON path, encrypted.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    secrets = EncryptedJSONField(blank=True, default=dict)
    # Image ids resolved at the first deploy, by container index: a rollback re-applies these.
    image_ids = models.JSONField(default=dict, blank=True)
    failed = models.BooleanField(default=False, help_text="a rollout to this version never became ready")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "number"], name="unique_version_number")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.service.name} v{self.number}"


class Deployment(models.Model):
    """One requested change to a service: the job record (Celery is only transport)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="deployments")
    kind = models.CharField(max_length=16, choices=DeploymentKind.choices)
    status = models.CharField(max_length=16, choices=DeploymentStatus.choices, default=DeploymentStatus.QUEUED)
    version = models.ForeignKey(ServiceVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    phase = models.CharField(max_length=32, blank=True, default="queued")
    message = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["service", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.service_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in DEPLOYMENT_TERMINAL


class Instance(models.Model):
    """One replica of a service version on a host: desired here, actual in Docker (by labels)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="instances")
    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="instances")
    host = models.ForeignKey(DockerHost, null=True, blank=True, on_delete=models.SET_NULL, related_name="instances")
    ordinal = models.PositiveIntegerField()
    name = models.CharField(max_length=200, unique=True)
    # Resources reserved on the host, copied from the version so placement is one aggregate query.
    cpu = models.FloatField(default=0)
    memory_mb = models.PositiveIntegerField(default=0)
    container_id = models.CharField(max_length=80, blank=True, default="")
    host_port = models.PositiveIntegerField(null=True, blank=True)
    # On a Swarm cluster (host.kind == "swarm") an instance is a task: its node, and the node's address
    # the task's host-mode port is reached at (the prober and the gateway use it instead of host.address).
    node = models.CharField(max_length=255, blank=True, default="")
    node_address = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=InstanceStatus.choices, default=InstanceStatus.CREATING)
    reason = models.CharField(max_length=64, blank=True, default="")
    message = models.TextField(blank=True, default="")
    ready = models.BooleanField(default=False)
    started = models.BooleanField(default=False, help_text="startup_check passed (or none configured)")
    restarts = models.PositiveIntegerField(default=0)
    last_state = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    next_restart_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service_id", "ordinal"]
        indexes = [models.Index(fields=["host", "status"])]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """Something that happened to a service, for people: Normal or Warning, reason, message, actor."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=8, choices=EventType.choices, default=EventType.NORMAL)
    reason = models.CharField(max_length=64)
    message = models.TextField()
    instance_name = models.CharField(max_length=200, blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="system")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.reason}: {self.message}"
