"""Where the secrets of a service config are, and copies with them masked, split out or put back.

Secrets: `token`, `dockerAuth`, `storage[i].git.password`, and any key under
`berth` (at any depth) whose name ends in password / secret / secret_key /
access_key. Only string values count. Every function here accepts any value
(a raw request body included) and never raises on its shape.
"""

from typing import Any

from deployments.spec.paths import Loc, format_path

SECRET_MASK = "****"
_BERTH_SECRET_SUFFIXES = ("password", "secret", "secret_key", "access_key")


def secret_locs(config: object) -> list[Loc]:
    """Locations of the secret string values present in `config`, in document order."""
    if not isinstance(config, dict):
        return []
    locs: list[Loc] = [(key,) for key in ("token", "dockerAuth") if isinstance(config.get(key), str)]
    storage = config.get("storage")
    if isinstance(storage, list):
        for i, mount in enumerate(storage):
            git = mount.get("git") if isinstance(mount, dict) else None
            if isinstance(git, dict) and isinstance(git.get("password"), str):
                locs.append(("storage", i, "git", "password"))
    berth = config.get("berth")
    if isinstance(berth, (dict, list)):
        # Iterative: a raw body can nest arbitrarily deep.
        stack: list[tuple[Any, Loc]] = [(berth, ("berth",))]
        while stack:
            node, loc = stack.pop()
            items = node.items() if isinstance(node, dict) else enumerate(node)
            found = []
            for key, value in items:
                if isinstance(value, (dict, list)):
                    found.append((value, (*loc, key)))
                elif isinstance(value, str) and isinstance(key, str) and key.endswith(_BERTH_SECRET_SUFFIXES):
                    locs.append((*loc, key))
            stack.extend(reversed(found))
    return locs


def copy_json(value: Any) -> Any:
    """A deep copy of the dicts and lists in `value` (leaves are shared: JSON leaves are immutable).

    Iterative, unlike copy.deepcopy, so deep nesting cannot exhaust the stack.
    """
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack = [(value, root)]
    while stack:
        source, target = stack.pop()
        for key, item in source.items() if isinstance(source, dict) else enumerate(source):
            if isinstance(item, (dict, list)):
                copied: Any = {} if isinstance(item, dict) else []
                stack.append((item, copied))
            else:
                copied = item
            if isinstance(target, dict):
                target[key] = copied
            else:
                target.append(copied)
    return root


def get_at(config: Any, loc: Loc) -> Any:
    for key in loc:
        config = config[key]
    return config


def set_at(config: Any, loc: Loc, value: Any) -> None:
    get_at(config, loc[:-1])[loc[-1]] = value


def mask_secrets(config: dict) -> dict:
    """A deep copy with every secret value replaced by SECRET_MASK."""
    masked = copy_json(config)
    for loc in secret_locs(masked):
        set_at(masked, loc, SECRET_MASK)
    return masked


def split_secrets(config: dict) -> tuple[dict, dict[str, str]]:
    """(masked copy, {path: clear value}); paths as format_path writes them, e.g. storage[0].git.password."""
    masked = copy_json(config)
    secrets: dict[str, str] = {}
    for loc in secret_locs(masked):
        secrets[format_path(loc)] = get_at(masked, loc)
        set_at(masked, loc, SECRET_MASK)
    return masked, secrets


def join_secrets(config: dict, secrets: dict[str, str]) -> dict:
    """A deep copy where each secret equal to SECRET_MASK whose path is in `secrets` gets the stored value.

    "A masked secret sent back unchanged means keep the stored value." Secrets are
    matched by path only: after storage entries are reordered, a mask pairs with
    whatever was stored at its index, and a mask with nothing stored at its path
    stays, for validate_config to report ("this is a masked value; enter the real value").
    """
    joined = copy_json(config)
    if not isinstance(secrets, dict):
        return joined
    for loc in secret_locs(joined):
        if get_at(joined, loc) == SECRET_MASK:
            stored = secrets.get(format_path(loc))
            if isinstance(stored, str):
                set_at(joined, loc, stored)
    return joined
