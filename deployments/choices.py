"""Status and role vocabularies (EAS names), with the groups code branches on."""

from django.db import models


class ServiceStatus(models.TextChoices):
    NOT_DEPLOYED = "NotDeployed", "Not deployed"
    CREATING = "Creating", "Creating"
    WAITING = "Waiting", "Waiting"
    RUNNING = "Running", "Running"
    UPDATING = "Updating", "Updating"
    SCALING = "Scaling", "Scaling"
    STOPPING = "Stopping", "Stopping"
    STOPPED = "Stopped", "Stopped"
    STARTING = "Starting", "Starting"
    FAILED = "Failed", "Failed"
    DELETING = "Deleting", "Deleting"


SERVICE_ACTIVE = frozenset(
    {
        ServiceStatus.CREATING,
        ServiceStatus.WAITING,
        ServiceStatus.UPDATING,
        ServiceStatus.SCALING,
        ServiceStatus.STOPPING,
        ServiceStatus.STARTING,
        ServiceStatus.DELETING,
    }
)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    DEVELOPER = "developer", "Developer"
    VIEWER = "viewer", "Viewer"


# Roles that may change services and credentials in a workspace.
WRITE_ROLES = frozenset({Role.OWNER, Role.DEVELOPER})


class InstanceStatus(models.TextChoices):
    CREATING = "Creating", "Creating"
    RUNNING = "Running", "Running"
    FAILED = "Failed", "Failed"
    TERMINATING = "Terminating", "Terminating"


class HostStatus(models.TextChoices):
    READY = "Ready", "Ready"
    DRAINING = "Draining", "Draining"
    UNREACHABLE = "Unreachable", "Unreachable"


class HostReach(models.TextChoices):
    """How the gateway and the prober reach a host's instances."""

    AUTO = "auto", "Automatic (container address on a unix:// host, published port otherwise)"
    CONTAINER = "container", "Container address (the gateway runs on this host)"
    PUBLISHED = "published", "Published port on the host address"


class DeploymentKind(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Rolling update"
    SCALE = "scale", "Scale"
    STOP = "stop", "Stop"
    START = "start", "Start"
    RESTART = "restart", "Restart"
    DELETE = "delete", "Delete"
    ROLLBACK = "rollback", "Roll back"


class DeploymentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


DEPLOYMENT_TERMINAL = frozenset({DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED})


class EventType(models.TextChoices):
    NORMAL = "Normal", "Normal"
    WARNING = "Warning", "Warning"
