"""Docker hosts: the engines Berth places instances on.
"""

from django.db import models

from deployments.choices import (
    HostStatus,
)
from deployments.crypto import EncryptedTextField


class DockerHost(models.Model):
    """A Docker engine Berth places instances on."""

    name = models.SlugField(max_length=63, unique=True)
    # "engine": one Docker engine Berth places containers on; "swarm": a Swarm cluster reached through a
    # manager's endpoint, where Swarm places the tasks (deployments/engine/cluster.py).
    kind = models.CharField(max_length=8, choices=[("engine", "engine"), ("swarm", "swarm")], default="engine")
    url = models.CharField(max_length=255, help_text="unix:///var/run/docker.sock or tcp://host:2376")
    # TLS client material for tcp:// hosts, stored encrypted (PEM text).
    tls_ca = EncryptedTextField(blank=True, default="")
    tls_cert = EncryptedTextField(blank=True, default="")
    tls_key = EncryptedTextField(blank=True, default="")
    address = models.CharField(
        max_length=255, default="127.0.0.1", help_text="the address published ports bind to and the gateway dials"
    )
    labels = models.JSONField(default=dict, blank=True)
    cpus = models.PositiveIntegerField(default=0)
    memory_mb = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=HostStatus.choices, default=HostStatus.READY)
    message = models.TextField(blank=True, default="")
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
