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

from deployments.spec.checks.normalise import DOTTED_METADATA_KEYS, normalise, user_loc
from deployments.spec.checks.rules import DOCKER_SOCKETS, check_rules, host_path_problem
from deployments.spec.checks.wellformed import MAX_DEPTH, is_storable, json_problems
from deployments.spec.keys import compile_tables, find_keys
from deployments.spec.paths import Loc, Problem, format_path

__all__ = [
    "DOCKER_SOCKETS",
    "DOTTED_METADATA_KEYS",
    "MAX_DEPTH",
    "Loc",
    "Problem",
    "check_rules",
    "compile_tables",
    "find_keys",
    "format_path",
    "host_path_problem",
    "is_storable",
    "json_problems",
    "normalise",
    "user_loc",
]
