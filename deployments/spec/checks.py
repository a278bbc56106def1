"""The steps of deployments.spec around the pydantic model, on plain JSON values.

* `json_problems`: is the input a JSON value Berth can store (types, depth, text)?
* `normalise`: the user's forms to the canonical layout, before validation.
* `check_rules`: the rules that span keys (one of command/script, one port, ...).
* `find_keys`: where the keys of a table (e.g. the Alibaba-only keys) occur.

Locations are tuples of keys and list indexes, `("containers", 0, "port")`;
`format_path` turns one into `containers[0].port`. These functions never raise
for any JSON input: they look at a value only after checking its type, and leave
type errors to the model.
"""

import json
import math
import re
from collections import deque
from typing import Any

from deployments.spec.model import STORAGE_TYPES

Loc = tuple[str | int, ...]
# (location, message) before locations are mapped back to what the user wrote.
Problem = tuple[Loc, str]

MAX_DEPTH = 32
MAX_PROBLEMS = 50
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# NUL cannot be stored in a PostgreSQL JSON column; lone surrogates cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def format_path(loc: Loc) -> str:
    """`("containers", 0, "port")` → `containers[0].port`; keys that are not identifiers in ["..."]."""
    parts: list[str] = []
    for part in loc:
        if type(part) is int:
            parts.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            parts.append(f".{part}" if parts else part)
        else:
            parts.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(parts)


# --- JSON well-formedness ----------------------------------------------------------------------


def is_storable(node: object, depth: int = 0) -> bool:
    """Whether `node` is a JSON document Berth can store; the fast path of json_problems.

    Recursion is bounded: nothing deeper than MAX_DEPTH is visited.
    """
    kind = type(node)
    if kind is str:
        return _UNSTORABLE.search(node) is None
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key, value in node.items():
            if type(key) is not str or _UNSTORABLE.search(key) or not is_storable(value, depth + 1):
                return False
        return True
    if kind is list:
        return depth < MAX_DEPTH and all(is_storable(value, depth + 1) for value in node)
    if kind is bool or node is None:
        return True
    if kind is int:
        return INT64_MIN <= node <= INT64_MAX
    if kind is float:
        return math.isfinite(node)
    return False  # subclasses and non-JSON types: json_problems looks closer


def json_problems(value: object) -> list[Problem]:
    """What keeps `value` from being a storable JSON document; [] when it is one.

    Iterative, so any nesting is safe; stops descending at MAX_DEPTH and after
    MAX_PROBLEMS problems. Valid documents take the faster is_storable path.
    """
    if is_storable(value):
        return []
    problems: list[Problem] = []
    stack: list[tuple[object, Loc]] = [(value, ())]
    while stack and len(problems) < MAX_PROBLEMS:
        node, loc = stack.pop()
        kind = type(node)
        if kind is str or kind is bool or node is None:
            if kind is str and _UNSTORABLE.search(node):
                problems.append((loc, "must not contain NUL characters or unpaired surrogates"))
        elif kind is dict or kind is list:
            if len(loc) >= MAX_DEPTH:
                problems.append((loc, f"is nested too deeply (more than {MAX_DEPTH} levels)"))
                continue
            if kind is list:
                stack.extend((child, (*loc, index)) for index, child in enumerate(node))
                continue
            for key, child in node.items():
                if type(key) is not str:
                    problems.append((loc, f"object keys must be strings, not {type(key).__name__}"))
                elif _UNSTORABLE.search(key):
                    problems.append((loc, "object keys must not contain NUL characters or unpaired surrogates"))
                else:
                    stack.append((child, (*loc, key)))
        elif kind is int:
            if not INT64_MIN <= node <= INT64_MAX:
                problems.append((loc, "is too large an integer (it must fit in 64 bits)"))
        elif kind is float:
            if not math.isfinite(node):
                problems.append((loc, "must be a finite number (NaN and Infinity are not JSON)"))
        elif isinstance(node, (str, int, float, dict, list)):
            # Subclasses (a str subclass from a template engine, say): check them as their base type.
            base = next(t for t in (bool, str, int, float, dict, list) if isinstance(node, t))
            stack.append((base(node), loc))
        else:
            problems.append(
                (
                    loc,
                    f"must be a JSON value (object, array, string, number, true/false or null), "
                    f"not {type(node).__name__}",
                )
            )
    problems.sort(key=lambda problem: format_path(problem[0]))
    return problems


# --- normalisation ------------------------------------------------------------------------------

# Metadata objects whose keys may also be written in dotted form inside metadata
# ("rpc.keepalive", "eas.termination_grace_period", as the EAS docs do).
DOTTED_METADATA_KEYS = ("rpc", "eas", "rolling_strategy", "scheduling", "elastic_job")


class _Tree:
    """Writes into a JSON tree without touching the caller's objects: dicts are copied on first write."""

    def __init__(self, root: dict):
        self.root = root
        self._owned = {id(root)}

    def own(self, parent: dict | list, key: str | int) -> Any:
        """parent[key], copied first if it is a dict or list that we do not own yet."""
        child = parent[key]
        if isinstance(child, (dict, list)) and id(child) not in self._owned:
            child = parent[key] = dict(child) if isinstance(child, dict) else list(child)
            self._owned.add(id(child))
        return child

    def put(self, loc: Loc, value: object, created: list[Loc]) -> str | None:
        """Set the value at `loc` (string keys), creating objects on the way (their locations go to `created`).

        Returns None, or why it cannot: a non-object in the way, or a different
        value already there (the same value twice is fine).
        """
        node = self.root
        for depth, key in enumerate(loc[:-1]):
            if key not in node:
                node[key] = {}
                self._owned.add(id(node[key]))
                created.append(loc[: depth + 1])
            elif not isinstance(node[key], dict):
                return f"conflicts with {format_path(loc[: depth + 1])}, which is not an object"
            node = self.own(node, key)
        last = loc[-1]
        if last in node and node[last] != value:
            return f"is also given as {format_path(loc)} with a different value; give it once"
        node[last] = value
        return None


def normalise(raw: dict) -> tuple[dict, dict[Loc, Loc], list[Problem]]:
    """The user's forms moved to the canonical layout; the input is not modified.

    Returns (data, renames, problems). `renames` maps a canonical location to the
    location the user wrote, so errors and warnings can point at the user's text.
    Moves: metadata.name → name, metadata.autoscaler → autoscaler, dotted
    metadata keys → nested objects, runtime.termination_grace_period →
    metadata.eas.termination_grace_period, containers[i].readiness_check →
    health_check. Giving a key in two forms is a problem unless the values agree
    (name, dotted keys) or always (readiness_check and health_check).
    """
    tree = _Tree(dict(raw))
    data = tree.root
    renames: dict[Loc, Loc] = {}
    problems: list[Problem] = []

    metadata = tree.own(data, "metadata") if isinstance(data.get("metadata"), dict) else None
    if metadata is not None:
        for key in [key for key in metadata if "." in key]:
            parts = tuple(key.split("."))
            if parts[0] not in DOTTED_METADATA_KEYS or not all(parts):
                continue  # left in place: the model reports it as an unknown key
            value = metadata.pop(key)
            created: list[Loc] = []
            conflict = tree.put(("metadata", *parts), value, created)
            if conflict:
                problems.append((("metadata", key), conflict))
            else:
                renames[("metadata", *parts)] = ("metadata", key)
                # An object that exists only because of dotted keys is reported at the first of them.
                for loc in created:
                    renames.setdefault(loc, ("metadata", key))
        if "name" in metadata:
            value = metadata.pop("name")
            if "name" not in data:
                data["name"] = value
                renames[("name",)] = ("metadata", "name")
            elif data["name"] != value:
                problems.append((("metadata", "name"), "differs from the top-level name; give the service name once"))
        if "autoscaler" in metadata:
            value = metadata.pop("autoscaler")
            if "autoscaler" not in data:
                data["autoscaler"] = value
                renames[("autoscaler",)] = ("metadata", "autoscaler")
            else:
                problems.append((("metadata", "autoscaler"), "autoscaler is also given at the top level; give it once"))

    if isinstance(data.get("runtime"), dict) and "termination_grace_period" in data["runtime"]:
        value = tree.own(data, "runtime").pop("termination_grace_period")
        # Without a metadata object the config is invalid anyway; the model says so.
        if metadata is not None:
            target: Loc = ("metadata", "eas", "termination_grace_period")
            conflict = tree.put(target, value, [])
            if conflict:
                problems.append((("runtime", "termination_grace_period"), conflict))
            else:
                renames[target] = ("runtime", "termination_grace_period")

    if isinstance(data.get("containers"), list):
        containers = tree.own(data, "containers")
        for index, container in enumerate(containers):
            if isinstance(container, dict) and "readiness_check" in container:
                container = tree.own(containers, index)
                probe = container.pop("readiness_check")
                if "health_check" in container:
                    message = "readiness_check is another name for health_check; give only one of them"
                    problems.append((("containers", index, "readiness_check"), message))
                else:
                    container["health_check"] = probe
                    renames[("containers", index, "health_check")] = ("containers", index, "readiness_check")
    return data, renames, problems


def user_loc(loc: Loc, renames: dict[Loc, Loc]) -> Loc:
    """Map a canonical location back to where the user wrote it (the longest renamed prefix wins)."""
    if renames:
        for size in range(len(loc), 0, -1):
            original = renames.get(loc[:size])
            if original is not None:
                return original + loc[size:]
    return loc


# --- rules across keys --------------------------------------------------------------------------

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
            # "/models" and "/models/" are the same directory; the output keeps what the user wrote.
            key = path.rstrip("/") or "/"
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


# --- key tables ---------------------------------------------------------------------------------


def compile_tables(tables: dict[str, tuple[str, ...]]) -> dict:
    """{label: ("metadata.rpc.batching", "storage[].dataset", ...)} → one trie for `find_keys`.

    "[]" in a path is any list index. A path's end carries its table's label.
    """
    trie: dict = {}
    for label, paths in tables.items():
        for path in paths:
            node = trie
            for part in path.replace("[]", ".[]").split("."):
                node = node.setdefault(part, {})
            node[None] = label
    return trie


def find_keys(data: object, trie: dict) -> list[tuple[Loc, str]]:
    """(location, label) of each table key present in `data`: breadth first, table order within a level."""
    found: list[tuple[Loc, str]] = []
    queue: deque[tuple[object, dict, Loc]] = deque([(data, trie, ())])
    while queue:
        node, branch, loc = queue.popleft()
        if None in branch:
            found.append((loc, branch[None]))
        if isinstance(node, dict):
            for key, sub in branch.items():
                if key is not None and key != "[]" and key in node:
                    queue.append((node[key], sub, (*loc, key)))
        elif isinstance(node, list) and "[]" in branch:
            queue.extend((item, branch["[]"], (*loc, i)) for i, item in enumerate(node))
    return found
