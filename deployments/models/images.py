"""Which workspaces pulled which private image: a cached image is no licence to run it."""

from django.db import models

from deployments.models.workspaces import Workspace


class PrivateImagePull(models.Model):
    """Workspace `workspace` pulled image `image_id` from `registry` with its own credentials.

    The engine writes one per credentialed pull (deployments/engine/images.py). An image id with
    such a record is private: another workspace reuses the host's copy only after pulling it with
    its own credentials; images never pulled with credentials are public and reused by all.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="private_image_pulls")
    image_id = models.CharField(max_length=100, db_index=True)
    registry = models.CharField(max_length=255)
    pulled_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "image_id"], name="one_private_pull_per_workspace")]

    def __str__(self) -> str:
        return f"{self.workspace} pulled {self.image_id} from {self.registry}"
