"""Locations in a config: tuples of keys and list indexes, `("containers", 0, "port")`, and their text form."""

import json
import re

Loc = tuple[str | int, ...]
# (location, message) before locations are mapped back to what the user wrote.
Problem = tuple[Loc, str]

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
