"""Config patches: JSON merge patch (RFC 7386) and eascmd-style dotted keys.

Pure functions over JSON values; no Django, so the CLI can share them.
"""

import copy
import re

_SEGMENT = re.compile(r"([A-Za-z0-9_-]+)|\[(\d+)\]")


class PatchError(ValueError):
    """A patch that cannot be applied; `path` names the offending key."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(message)


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386: objects merge key by key, null deletes, anything else (arrays too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_dotted(key: str) -> list[str | int]:
    """`containers[0].image` → ["containers", 0, "image"]; raises PatchError on malformed keys."""
    parts: list[str | int] = []
    position = 0
    for match in _SEGMENT.finditer(key):
        name, index = match.groups()
        gap = key[position : match.start()]
        # A name follows a dot (except the first); an index follows its key directly.
        expected = "" if index is not None or not parts else "."
        if gap != expected:
            raise PatchError(key, f"cannot read the key {key!r} near {key[position : match.end()]!r}")
        parts.append(int(index) if index is not None else name)
        position = match.end()
    if not parts or position != len(key) or isinstance(parts[0], int):
        raise PatchError(key, f"cannot read the key {key!r}; write it like metadata.instance or containers[0].image")
    return parts


def set_dotted(config: dict, key: str, value: object) -> dict:
    """A copy of `config` with the value at dotted `key` set (null deletes it)."""
    parts = parse_dotted(key)
    result = copy.deepcopy(config)
    node: object = result
    for depth, part in enumerate(parts[:-1]):
        following = parts[depth + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise PatchError(key, f"{key}: index {part} is out of range")
            if not isinstance(node[part], (dict, list)):
                node[part] = [] if isinstance(following, int) else {}
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise PatchError(key, f"{key}: {part!r} is not inside an object")
            if not isinstance(node.get(part), (dict, list)):
                node[part] = [] if isinstance(following, int) else {}
            node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise PatchError(key, f"{key}: not a list")
        if last < len(node):
            node[last] = value
        elif last == len(node):
            node.append(value)
        else:
            raise PatchError(key, f"{key}: index {last} is out of range")
    else:
        if not isinstance(node, dict):
            raise PatchError(key, f"{key}: {last!r} is not inside an object")
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return result


def apply_patch(config: dict, patch: dict) -> dict:
    """Apply a PATCH body: top-level keys with `.` or `[` are dotted keys, the rest a merge patch."""
    dotted = {k: v for k, v in patch.items() if "." in k or "[" in k}
    plain = {k: v for k, v in patch.items() if k not in dotted}
    result = merge_patch(config, plain) if plain else copy.deepcopy(config)
    for key, value in dotted.items():
        result = set_dotted(result, key, value)
    return result
