"""Is the input a JSON document Berth can store (types, depth, text)? Never raises, never recurses unbounded."""

import math
import re

from deployments.spec.paths import Loc, Problem, format_path

MAX_DEPTH = 32
MAX_PROBLEMS = 50
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# NUL cannot be stored in a PostgreSQL JSON column; lone surrogates cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


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
