"""Service configs: validate and normalise one EAS-style JSON config (image mode).

The rules follow eas.md §1 (keys) and §6 (limits). `validate_config` never raises
for bad input; it returns a SpecResult whose issues carry a JSON path
(`containers[0].port`, "" for the root) and a sentence a person can act on. Paths
point at what the user wrote (`metadata.name`, `metadata["rpc.keepalive"]`,
`containers[0].readiness_check`), even though the canonical form moves those.

The canonical form (what `SpecResult.config` holds, and what is stored):
* top-level `name` (metadata.name moved out); `autoscaler` at the top level
  (metadata.autoscaler moved out);
* nested objects, not dotted keys: metadata "rpc.keepalive" → metadata.rpc.keepalive,
  "eas.termination_grace_period" (and runtime.termination_grace_period) →
  metadata.eas.termination_grace_period;
* `health_check`, never `readiness_check`; autoscaler `strategies` map, never the
  OpenAPI `scaleStrategies` list;
* keys in the model's order (name, token, dockerAuth, containers, storage,
  metadata, the rest, berth last); free-form objects (labels, Alibaba-only keys)
  keep the user's order;
* no defaults filled in: an absent key stays absent. Alibaba-only keys are kept.
Canonicalising a canonical config gives it back unchanged.

Pipeline: json_problems (storable JSON?) → normalise (user forms to canonical
layout) → move_git_credentials (user:password in a git URL → git.username/password) → ServiceSpec (types, per-key rules) → check_rules (rules across keys) →
masked-secret check → warnings from the key tables (keys.py). No Django here.
"""

import json
import logging
from dataclasses import dataclass, field
from typing import TypedDict

from pydantic import ValidationError

from deployments.spec.checks import check_rules, json_problems, normalise, user_loc
from deployments.spec.checks.build import fill_build_defaults
from deployments.spec.checks.git_credentials import move_git_credentials
from deployments.spec.credentials import DockerAuthError, decode_docker_auth, encode_docker_auth, url_credentials
from deployments.spec.keys import ALIBABA_ONLY_KEYS, NOT_ENFORCED_YET_KEYS, key_warnings
from deployments.spec.messages import error_message
from deployments.spec.model import HOST_PATH, MAX_INSTANCES, STORAGE_TYPES, TOKEN_MIN_LENGTH, ServiceSpec
from deployments.spec.paths import Loc, Problem, format_path
from deployments.spec.schema import service_config_json_schema
from deployments.spec.secrets import SECRET_MASK, get_at, join_secrets, mask_secrets, secret_locs, split_secrets

__all__ = [
    "ALIBABA_ONLY_KEYS",
    "HOST_PATH",
    "MAX_INSTANCES",
    "STORAGE_TYPES",
    "TOKEN_MIN_LENGTH",
    "DockerAuthError",
    "decode_docker_auth",
    "encode_docker_auth",
    "url_credentials",
    "NOT_ENFORCED_YET_KEYS",
    "SECRET_MASK",
    "Issue",
    "ServiceSpec",
    "SpecResult",
    "canonical_json",
    "join_secrets",
    "mask_secrets",
    "service_config_json_schema",
    "split_secrets",
    "validate_config",
]

logger = logging.getLogger(__name__)

# --- results ------------------------------------------------------------------------------------


class Issue(TypedDict):
    path: str  # JSON path like "containers[0].port", "metadata.instance", "" for the root
    message: str  # a sentence: what is wrong and what to do


@dataclass
class SpecResult:
    config: dict | None  # canonical config (secrets in clear) when valid, else None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.errors


MASKED_MESSAGE = "this is a masked value; enter the real value"
_INTERNAL_MESSAGE = "Berth could not check this config because of an internal error; please report it"


def validate_config(raw: object) -> SpecResult:
    """Parse, validate and normalise one service config.

    Never raises for bad input (any JSON value, any nesting, any types).
    `raw` is a decoded JSON value (what json.loads returns); anything but an
    object is an error. `config` is set only when there are no errors; warnings
    come either way.
    """
    try:
        return _validate(raw)
    except Exception:
        # Never a 500 for a config, even if this module has a bug: log it, report it as an issue.
        logger.exception("validate_config failed")
        return SpecResult(None, [{"path": "", "message": _INTERNAL_MESSAGE}], [])


def _validate(raw: object) -> SpecResult:
    if not isinstance(raw, dict):
        message = f"a service config must be a JSON object, not {_kind(raw)}"
        return SpecResult(None, [{"path": "", "message": message}])
    problems = json_problems(raw)
    if problems:
        return SpecResult(None, _issues(problems, {}))
    data, renames, problems = normalise(raw)
    data, credential_problems, moved = move_git_credentials(data)
    problems += credential_problems
    problems += fill_build_defaults(data)
    model = None
    try:
        model = ServiceSpec.model_validate(data)
    except ValidationError as exc:
        problems += [(error["loc"], error_message(error)) for error in exc.errors(include_url=False)]
    problems += check_rules(data)
    # A mask where a secret belongs replaces whatever else is said about that value.
    masked = {loc for loc in secret_locs(data) if get_at(data, loc) == SECRET_MASK}
    if masked:
        problems = [problem for problem in problems if problem[0] not in masked]
        problems += [(loc, MASKED_MESSAGE) for loc in sorted(masked, key=format_path)]
    errors = _issues(problems, renames)
    warnings = _issues(moved + key_warnings(data), renames)
    config = model.canonical() if model is not None and not errors else None
    return SpecResult(config, errors, warnings)


def canonical_json(config: dict) -> str:
    """json.dumps of a canonical config, indent=2, ensure_ascii=False, trailing newline.

    Key order is preserved: it is the canonical order.
    """
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


def _issues(problems: list[Problem], renames: dict[Loc, Loc]) -> list[Issue]:
    """Issues at the user's paths, duplicates dropped, order kept."""
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for loc, message in problems:
        path = format_path(user_loc(tuple(loc), renames))
        if (path, message) not in seen:
            seen.add((path, message))
            issues.append({"path": path, "message": message})
    return issues


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
