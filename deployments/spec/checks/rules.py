"""Rules that span several keys of a normalised config (one of command/script, one port, mounts, ...)."""

import posixpath

from deployments.spec.model import STORAGE_TYPES
from deployments.spec.paths import Problem

_PROBES = ("health_check", "liveness_check", "startup_check")
_PROBE_KINDS = ("tcp_socket", "http_get", "exec")


def _one_of(options: tuple[str, ...], found: list[str]) -> str:
    listed = ", ".join(options[:-1]) + " or " + options[-1]
    return f"give exactly one of {listed}" + (f" (found {', '.join(found)})" if found else "")


def check_rules(data: dict) -> list[Problem]:
    """Rules that span several keys, on the normalised data. Values of the wrong type are skipped."""
    problems: list[Problem] = []
    containers = data.get("containers")
    if isinstance(containers, list):
        problems += _container_rules(containers)
    storage = data.get("storage")
    if isinstance(storage, list):
        problems += _storage_rules(storage)
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        if "gpu_core_percentage" in metadata and "gpu_memory" not in metadata:
            problems.append((("metadata", "gpu_core_percentage"), "needs gpu_memory: it is a share of a GPU slice"))
        rolling = metadata.get("rolling_strategy")
        if isinstance(rolling, dict) and all(_is_zero(rolling.get(key)) for key in ("max_surge", "max_unavailable")):
            problems.append(
                (
                    ("metadata", "rolling_strategy"),
                    "max_surge and max_unavailable cannot both be 0: an update could never replace an instance",
                )
            )
    autoscaler = data.get("autoscaler")
    if isinstance(autoscaler, dict):
        problems += _autoscaler_rules(autoscaler, data.get("name"))
    return problems


def _is_zero(value: object) -> bool:
    return (type(value) is int and value == 0) or value == "0%"


def _container_rules(containers: list) -> list[Problem]:
    problems: list[Problem] = []
    with_port: list[int] = []
    for i, container in enumerate(containers):
        if not isinstance(container, dict):
            continue
        has_command, has_script = "command" in container, "script" in container
        if has_command and has_script:
            problems.append((("containers", i), "give either command or script, not both"))
        elif not (has_command or has_script):
            problems.append(
                (("containers", i), "give command (a single command) or script (a shell script) to start the container")
            )
        if "port" in container:
            with_port.append(i)
        env = container.get("env")
        if isinstance(env, list):
            seen: dict[str, int] = {}
            for j, variable in enumerate(env):
                name = variable.get("name") if isinstance(variable, dict) else None
                if isinstance(name, str):
                    if name in seen:
                        problems.append(
                            (
                                ("containers", i, "env", j, "name"),
                                f"duplicate variable '{name}' (also env[{seen[name]}]); give each variable once",
                            )
                        )
                    else:
                        seen[name] = j
        for probe_key in _PROBES:
            probe = container.get(probe_key)
            if isinstance(probe, dict):
                kinds = [kind for kind in _PROBE_KINDS if kind in probe]
                if len(kinds) != 1:
                    problems.append((("containers", i, probe_key), _one_of(_PROBE_KINDS, kinds)))
    if not with_port and containers:
        if len(containers) == 1:
            if isinstance(containers[0], dict):
                problems.append(
                    (
                        ("containers", 0, "port"),
                        "required: the port the server listens on (not 8080 or 9090); the gateway sends requests to it",
                    )
                )
        else:
            problems.append((("containers",), "one container must set port: it receives the gateway's requests"))
    for i in with_port[1:]:
        problems.append(
            (
                ("containers", i, "port"),
                f"only one container may set port; containers[{with_port[0]}] already receives the gateway's requests",
            )
        )
    return problems


# Docker's API socket at its usual places: bind-mounting it (or a directory holding it) hands the
# service root on the host, so no allow-list can permit it.
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
_HOST_PATH = "berth.host_path"


def host_path_problem(path: str) -> str | None:
    """Why `path` can never be a host path (whatever the allow-list says), or None.

    Absolute and normalised (no '.', '..' or empty segments), not the host's root, not a Docker
    socket nor a directory above one. The allow-list itself is checked by deployments.storage,
    which knows the settings.
    """
    if not path.startswith("/"):
        return "must be an absolute path on the Docker host, starting with /"
    segments = path.rstrip("/").split("/")[1:]
    if any(segment in ("", ".", "..") for segment in segments) and path != "/":
        return "must be a normalised path: no '.', '..' or '//' in it"
    clean = "/" + "/".join(segments) if path != "/" else "/"
    if clean == "/":
        return "cannot mount the host's root /; choose a directory under an allowed root"
    for socket in DOCKER_SOCKETS:
        if clean == socket or socket.startswith(clean + "/") or "docker.sock" in clean:
            return (
                f"the Docker socket ({socket}) and directories holding it are never mounted: "
                "they would give the service control of the host"
            )
    return None


def _storage_rules(storage: list) -> list[Problem]:
    problems: list[Problem] = []
    mounted: dict[str, int] = {}
    for i, mount in enumerate(storage):
        if not isinstance(mount, dict):
            continue
        berth = mount.get("berth") if isinstance(mount.get("berth"), dict) else {}
        kinds = [kind for kind in STORAGE_TYPES if kind in mount] + ([_HOST_PATH] if "host_path" in berth else [])
        if len(kinds) != 1:
            problems.append((("storage", i), _one_of((*STORAGE_TYPES, _HOST_PATH), kinds)))
        host_path = berth.get("host_path")
        if isinstance(host_path, str) and host_path.startswith("/"):
            problem = host_path_problem(host_path)
            if problem:
                problems.append((("storage", i, "berth", "host_path"), problem))
        if "readOnly" in berth and "host_path" not in berth:
            problems.append(
                (
                    ("storage", i, "berth", "readOnly"),
                    "applies to berth.host_path only; other mounts take readOnly inside their type, e.g. oss.readOnly",
                )
            )
        if "object_store" in berth and "oss" not in mount:
            problems.append((("storage", i, "berth", "object_store"), "applies to oss mounts only"))
        path = mount.get("mount_path")
        if isinstance(path, str) and path.startswith("/"):
            # "/models", "/models/" and "//models/." are the same directory (the model normalises them).
            key = "/" + posixpath.normpath(path).lstrip("/")
            if key in mounted:
                problems.append(
                    (
                        ("storage", i, "mount_path"),
                        f"duplicate mount path '{path}': storage[{mounted[key]}] already mounts there",
                    )
                )
            else:
                mounted[key] = i
    return problems


def _autoscaler_rules(autoscaler: dict, service_name: object) -> list[Problem]:
    problems: list[Problem] = []
    low, high = autoscaler.get("min"), autoscaler.get("max")
    if type(low) is int and type(high) is int and low > high:
        problems.append((("autoscaler", "min"), f"must be at most max ({high})"))
    if "strategies" in autoscaler and "scaleStrategies" in autoscaler:
        problems.append(
            (("autoscaler", "scaleStrategies"), "give strategies or its OpenAPI form scaleStrategies, not both")
        )
    elif "strategies" not in autoscaler and "scaleStrategies" not in autoscaler:
        problems.append((("autoscaler",), 'give strategies: the metrics to scale on, e.g. {"qps": 10}'))
    listed = autoscaler.get("scaleStrategies")
    if isinstance(listed, list):
        seen: dict[str, int] = {}
        for i, item in enumerate(listed):
            if not isinstance(item, dict):
                continue
            metric = item.get("metricName")
            if isinstance(metric, str):
                if metric in seen:
                    problems.append(
                        (
                            ("autoscaler", "scaleStrategies", i, "metricName"),
                            f"duplicate metric '{metric}' (also scaleStrategies[{seen[metric]}])",
                        )
                    )
                else:
                    seen[metric] = i
            service = item.get("service")
            if isinstance(service, str) and service != service_name:
                problems.append(
                    (
                        ("autoscaler", "scaleStrategies", i, "service"),
                        "must be this service's own name or left out: a service scales on its own metrics",
                    )
                )
    return problems
