"""The user's forms of a config moved to the canonical layout, before the model validates it."""

from typing import Any

from deployments.spec.paths import Loc, Problem, format_path

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
