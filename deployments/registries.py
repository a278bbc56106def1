"""Registry credentials for pulling an image: the config's dockerAuth, a saved credential, or the workspace's."""

from deployments.models import Service
from deployments.runtime import RegistryAuth
from deployments.runtime.docker import registry_of
from deployments.spec import decode_docker_auth


def registry_auth_for(*, service: Service, config: dict, image: str) -> RegistryAuth | None:
    """Credentials for pulling `image`: the config's dockerAuth, the named saved credential, or the
    workspace credential whose registry matches the image's."""
    if config.get("dockerAuth"):
        user, password = decode_docker_auth(config["dockerAuth"])
        return RegistryAuth(user, password)
    credentials = service.workspace.registry_credentials
    named = (config.get("berth") or {}).get("registry_credential")
    credential = (
        credentials.filter(name=named).first() if named else credentials.filter(registry=registry_of(image)).first()
    )
    return RegistryAuth(credential.username, credential.password) if credential else None


def pinned_tag(image: str) -> bool:
    """True for references with a tag other than latest, or a digest."""
    if "@" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":latest")
