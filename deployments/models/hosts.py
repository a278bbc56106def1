"""Docker hosts: the engines Berth places instances on."""

from django.db import models

from deployments.choices import (
    HostReach,
    HostStatus,
)
from deployments.crypto import EncryptedTextField


class DockerHost(models.Model):
    """A Docker engine Berth places instances on."""

    name = models.SlugField(max_length=63, unique=True)
    url = models.CharField(max_length=255, help_text="unix:///var/run/docker.sock or tcp://host:2376")
    # TLS client material for tcp:// hosts, stored encrypted (PEM text).
    tls_ca = EncryptedTextField(blank=True, default="")
    tls_cert = EncryptedTextField(blank=True, default="")
    tls_key = EncryptedTextField(blank=True, default="")
    address = models.CharField(
        max_length=255, default="127.0.0.1", help_text="the address published ports bind to and the gateway dials"
    )
    reach = models.CharField(
        max_length=16,
        choices=HostReach.choices,
        default=HostReach.AUTO,
        help_text="container: the gateway dials instances on their Docker network (it runs on this machine); "
        "published: instances publish a port on the host address",
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

    @property
    def reaches_containers(self) -> bool:
        """True when the gateway and the prober dial instances at their container address (nothing is
        published on the host); only possible when they run on the Docker host itself."""
        if self.reach == HostReach.AUTO:
            return self.url.startswith("unix://")
        return self.reach == HostReach.CONTAINER
