"""From a canonical service config to the containers of one instance (pure: no DB, no Docker)."""

import shlex

from django.conf import settings

from deployments.runtime import (
    LABEL_INSTALLATION,
    LABEL_INSTANCE,
    LABEL_PORT,
    LABEL_ROLE,
    LABEL_SERVICE,
    LABEL_VERSION,
    LABEL_WORKSPACE,
    ContainerSpec,
)

# Exit code the prepare step uses when the image has no python/pip: the reason is in its log line.
PREPARE_MISSING_PYTHON = 97

_PREPARE = """set -e
# The image's own Python is the target, as in EAS; Debian-based images mark it externally managed.
export PIP_BREAK_SYSTEM_PACKAGES=1
PY=$(command -v python3 || command -v python || true)
if [ -z "$PY" ]; then echo "berth: prepare.pythonRequirements needs python and pip in the image, but there is no python" >&2; exit 97; fi
if ! "$PY" -m pip --version >/dev/null 2>&1; then echo "berth: prepare.pythonRequirements needs pip in the image, but $PY has no pip" >&2; exit 97; fi
echo "berth: installing Python requirements"
"$PY" -m pip install --no-cache-dir --disable-pip-version-check {requirements}
exec "$@"
"""


def instance_name(service_name: str, version: int, ordinal: int) -> str:
    """Deterministic container name of an instance's main container. Docker names allow `_`."""
    return f"berth-{service_name}-v{version}-{ordinal}"


def main_container_index(config: dict) -> int:
    """The container that receives traffic: the one with `port` (the spec guarantees one has it)."""
    for index, container in enumerate(config["containers"]):
        if container.get("port"):
            return index
    return 0


def main_container(config: dict) -> dict:
    """The config of the container that receives traffic (and whose probes decide readiness)."""
    return config["containers"][main_container_index(config)]


def _argv(container: dict) -> list[str]:
    """The process to run: `command` in exec form (shlex-split), or `script` through /bin/sh -c; then `args`."""
    if container.get("script"):
        argv = ["/bin/sh", "-c", container["script"]]
    elif container.get("command"):
        argv = shlex.split(container["command"])
    else:
        argv = []
    return argv + [str(a) for a in container.get("args") or []]


def _with_prepare(container: dict, argv: list[str]) -> list[str]:
    """Wrap argv so `pip install` runs first, as EAS's prepare step does."""
    prepare = container.get("prepare") or {}
    if prepare.get("pythonRequirements"):
        requirements = " ".join(shlex.quote(r) for r in prepare["pythonRequirements"])
    elif prepare.get("pythonRequirementsPath"):
        requirements = "-r " + shlex.quote(prepare["pythonRequirementsPath"])
    else:
        return argv
    return ["/bin/sh", "-c", _PREPARE.format(requirements=requirements), "berth-prepare", *argv]


def instance_containers(
    *, config: dict, service_name: str, workspace: str, version: int, ordinal: int, bind_address: str
) -> list[ContainerSpec]:
    """The containers of one instance, main container first (the others join its network namespace)."""
    main = main_container_index(config)
    name = instance_name(service_name, version, ordinal)
    metadata = config.get("metadata") or {}
    order = [main] + [i for i in range(len(config["containers"])) if i != main]
    specs = []
    for position, index in enumerate(order):
        container = config["containers"][index]
        labels = {
            LABEL_INSTALLATION: settings.BERTH_INSTALLATION,
            LABEL_SERVICE: service_name,
            LABEL_VERSION: str(version),
            LABEL_INSTANCE: name,
            LABEL_WORKSPACE: workspace,
            LABEL_ROLE: "main" if position == 0 else "sidecar",
        }
        if position == 0 and container.get("port"):
            labels[LABEL_PORT] = str(container["port"])
        env = {item["name"]: str(item.get("value", "")) for item in container.get("env") or []}
        mounts = []
        if (container.get("prepare") or {}) and settings.BERTH_EXTRA_CA_BUNDLE:
            mounts.append(
                {
                    "target": "/etc/berth/ca.crt",
                    "source": settings.BERTH_EXTRA_CA_BUNDLE,
                    "type": "bind",
                    "read_only": True,
                }
            )
            env.setdefault("PIP_CERT", "/etc/berth/ca.crt")
        argv = _with_prepare(container, _argv(container))
        specs.append(
            ContainerSpec(
                name=name if position == 0 else f"{name}-c{index}",
                image=container["image"],
                labels=labels,
                env=env,
                entrypoint=argv or None,
                command=None,
                port=container.get("port") if position == 0 else None,
                bind_address=bind_address,
                # Resources are per instance; they apply to the main container (EAS splits them with
                # `resources`, which Berth does not honour yet).
                cpu=float(metadata["cpu"]) if position == 0 and metadata.get("cpu") else None,
                memory_mb=int(metadata["memory"]) if position == 0 and metadata.get("memory") else None,
                network_of=name if position > 0 else None,
                mounts=mounts,
            )
        )
    return specs
