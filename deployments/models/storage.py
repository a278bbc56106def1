"""Storage tables: a workspace's object-store connections, and the mounts each instance got.

Writes go through deployments.actions.object_stores (connections) and deployments.storage (mounts).
"""

from django.db import models

from deployments.crypto import EncryptedTextField


class AddressingStyle(models.TextChoices):
    AUTO = "auto", "auto (the SDK decides)"
    PATH = "path", "path (https://endpoint/bucket/key: MinIO, moto)"
    VIRTUAL = "virtual", "virtual host (https://bucket.endpoint/key: Alibaba OSS, AWS)"


class ObjectStore(models.Model):
    """A named S3-protocol connection (Alibaba OSS, MinIO, AWS S3...); keys are encrypted at rest.

    An oss mount uses the connection its config names (berth.object_store) or the workspace's default.
    """

    workspace = models.ForeignKey("deployments.Workspace", on_delete=models.CASCADE, related_name="object_stores")
    name = models.CharField(max_length=63)
    endpoint_url = models.CharField(max_length=255, help_text="e.g. https://oss-cn-hangzhou.aliyuncs.com")
    region = models.CharField(max_length=63, blank=True, default="")
    addressing_style = models.CharField(max_length=8, choices=AddressingStyle.choices, default=AddressingStyle.AUTO)
    access_key_id = EncryptedTextField()
    secret_access_key = EncryptedTextField()
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_object_store_name"),
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(is_default=True), name="one_default_object_store"
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.endpoint_url})"

    @property
    def access_key_hint(self) -> str:
        """The access key id with all but its last 4 characters masked, to tell keys apart."""
        key = self.access_key_id or ""
        return "****" + key[-4:] if len(key) > 8 else "****"


class InstanceMount(models.Model):
    """One mount an instance got: what was mounted where, from which source (never with credentials)."""

    instance = models.ForeignKey("deployments.Instance", on_delete=models.CASCADE, related_name="mounts")
    position = models.PositiveIntegerField(help_text="index in storage[]")
    mount_path = models.CharField(max_length=1024)
    kind = models.CharField(max_length=16)  # oss, nfs, git, image, empty_dir, host_path, shm
    source = models.CharField(max_length=2048, blank=True, default="")
    read_only = models.BooleanField(default=False)
    volume = models.CharField(max_length=255, blank=True, default="")
    # Figures a person reads: bytes, objects, cached objects, the commit cloned, seconds taken.
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance_id", "position"]

    def __str__(self) -> str:
        return f"{self.kind} {self.source} at {self.mount_path}"
