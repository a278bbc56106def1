"""Test-pulling a config's images before saving it."""

from deployments import access, spec
from deployments.choices import HostStatus
from deployments.engine import hosts
from deployments.errors import ConfigInvalid, Conflict
from deployments.models import DockerHost
from deployments.models import Service as ServiceModel
from deployments.registries import registry_auth_for
from deployments.runtime import RuntimeFailure


def image_test_pull(*, actor, workspace, config: object) -> list[dict]:
    """Pull every image of a config on a ready host with the credentials a deploy would use.

    Returns one {image, ok, message} per image, so the form can say which image or which
    credential is wrong before anything is saved. Raises ConfigInvalid for a bad config.
    """

    access.check_can_write(user=actor, workspace=workspace)
    result = spec.validate_config(config)
    if not result.ok:
        raise ConfigInvalid(result.errors, result.warnings)
    host = DockerHost.objects.filter(status=HostStatus.READY).order_by("name").first()
    if host is None:
        raise Conflict("no Docker host is ready to pull on: ask an administrator to add or undrain one")
    runtime = hosts.host_runtime(host)
    # Credentials resolve against the workspace; an unsaved service has none of its own yet.
    probe = ServiceModel(name=result.config["name"], workspace=workspace)
    outcomes = []
    for image in dict.fromkeys(c["image"] for c in result.config["containers"]):
        try:
            auth = registry_auth_for(service=probe, config=result.config, image=image)
            image_id = runtime.pull(image, auth)
            outcomes.append({"image": image, "ok": True, "message": f"pulled on host {host.name} ({image_id[:19]})"})
        except RuntimeFailure as exc:
            outcomes.append({"image": image, "ok": False, "message": str(exc)})
    return outcomes
