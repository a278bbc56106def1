"""Workspaces, their members, saved registry credentials and personal API keys.
"""

from django.conf import settings
from django.db import models

from deployments.choices import (
    WRITE_ROLES,
    Role,
)
from deployments.crypto import EncryptedTextField


class Workspace(models.Model):
    """A team's space: services and registry credentials belong to one."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Quotas set by administrators (deployments/actions/quotas.py); null means unlimited.
    max_instances = models.PositiveIntegerField(null=True, blank=True, help_text="instances; empty: unlimited")
    max_cpu = models.FloatField(null=True, blank=True, help_text="CPU cores in total; empty: unlimited")
    max_memory_mb = models.PositiveIntegerField(null=True, blank=True, help_text="MB of memory in total; empty: unlimited")
    # Where services run when their config names no pool (metadata.resource): a host or a Swarm cluster.
    default_pool = models.ForeignKey(
        "deployments.DockerHost", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]
        ordering = ["workspace__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class Profile(models.Model):
    """Per-user console state: the workspace new services go to."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="berth_profile")
    current_workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"profile of {self.user}"


class RegistryCredential(models.Model):
    """A saved login for a container registry; the password is encrypted at rest."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="registry_credentials")
    name = models.CharField(max_length=63)
    registry = models.CharField(max_length=255, help_text="Registry host, e.g. registry.example.com:5000")
    username = models.CharField(max_length=255)
    password = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="unique_credential_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.registry})"


class ApiKey(models.Model):
    """A per-user key for API clients. Only a SHA-256 of the key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
