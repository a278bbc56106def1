"""Which image id an instance runs: reuse what the host has, pull what it lacks, and never let a
private image one workspace pulled with its credentials run for a workspace that has none.

Kubernetes' IfNotPresent reuses any image already on the node, whoever pulled it. Berth keeps that
for public images (pulled without credentials, or built on the host), but records every
credentialed pull (models.PrivateImagePull): for another workspace the host's copy of such an
image counts only after a real pull with that workspace's own credentials succeeded.
"""

from deployments.models import PrivateImagePull, Service, ServiceVersion
from deployments.registries import pinned_tag, registry_auth_for
from deployments.runtime import Runtime
from deployments.runtime.docker import registry_of


def _usable_by(image_id: str, *, service: Service) -> bool:
    """True for a public image, or a private one this service's workspace pulled itself."""
    pulls = PrivateImagePull.objects.filter(image_id=image_id)
    return not pulls.exists() or pulls.filter(workspace_id=service.workspace_id).exists()


def image_resolve(*, runtime: Runtime, service: Service, version: ServiceVersion, config: dict, image: str) -> str:
    """The id of `image` on the runtime's host for this service, pulling it when needed.

    The version's recorded id first (a rollback re-applies exactly it), then a tagged image
    already present, then a pull with the service's credentials. Raises the runtime's pull
    failures (RegistryAuthFailed names the registry).
    """
    local = None
    recorded = version.image_ids.get(image)
    if recorded and runtime.image_has(recorded):
        local = recorded
    elif pinned_tag(image) and runtime.image_has(image):
        local = runtime.image_id(image)
    if local is not None and _usable_by(local, service=service):
        return local
    auth = registry_auth_for(service=service, config=config, image=image)
    # A private image present on the host must not stand in for a refused anonymous pull.
    pulled = runtime.pull(image, auth, local_fallback=local is None)
    if auth is not None:
        for image_id in {pulled, local} - {None}:
            # The registry let this workspace pull the reference: the copy already here (the version's
            # own id, should the tag have moved since) is now its to run too.
            PrivateImagePull.objects.update_or_create(
                workspace_id=service.workspace_id, image_id=image_id, defaults={"registry": registry_of(image)}
            )
    return local if local is not None and auth is not None else pulled
