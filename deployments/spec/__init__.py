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
layout) → ServiceSpec (types, per-key rules) → check_rules (rules across keys) →
masked-secret check → warnings from the two key tables below. No Django here.
"""

import difflib
import json
import logging
import types
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, TypedDict, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from deployments.spec.checks import (
    DOTTED_METADATA_KEYS,
    Loc,
    Problem,
    check_rules,
    compile_tables,
    find_keys,
    format_path,
    json_problems,
    normalise,
    user_loc,
)
from deployments.spec.model import ServiceSpec
from deployments.spec.scalers import scaler_issues
from deployments.spec.secrets import SECRET_MASK, get_at, join_secrets, mask_secrets, secret_locs, split_secrets

__all__ = [
    "ALIBABA_ONLY_KEYS",
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

# --- key tables ---------------------------------------------------------------------------------
# Keys that are valid but that Berth does not act on; each occurrence is a warning.
# Paths are canonical; "[]" stands for any list index. When Berth starts honouring a
# key, delete it here (the schema's descriptions follow these tables too).

# Meaningful only on Alibaba Cloud: "ignored: <key> only applies on Alibaba Cloud".
ALIBABA_ONLY_KEYS: tuple[str, ...] = (
    "cloud", "sinker", "confidential", "unit", "aimaster", "options", "metrics", "metrics_config", "alerts",
    "features", "generate_token", "osscredentials", "role_arn",
    # Processor mode and specialised service types.
    "processor", "processor_type", "processor_path", "processor_entry", "processor_mainclass", "processor_name",
    "processor_jvm_options", "processor_envs", "processor_image", "processors", "model_path", "oss_endpoint",
    "model_entry", "model_config", "warm_up_data_path", "requirements", "model", "models", "multi_models",
    "uncompress", "source", "data_image", "members", "tasks", "raycluster", "rai", "serverless",
    "metadata.workspace_id", "metadata.resource", "metadata.resource_burstable", "metadata.cuda", "metadata.rdma",
    "metadata.disk", "metadata.gateway", "metadata.workload_type", "metadata.elastic_job",
    "metadata.resource_rebalancing", "metadata.quota_id", "metadata.quota_type", "metadata.gpu_model",
    "metadata.npu", "metadata.fpga", "metadata.disable_sidecar", "metadata.region", "metadata.schema",
    "metadata.eas.handlers", "metadata.eas.enabled_model_verification",
    "networking.gateway", "networking.nlb", "networking.nacos", "networking.traffic_state", "networking.path",
    "networking.port_exposure", "networking.enable_https", "networking.enable_http2", "networking.enable_grpc",
    "networking.dns", "networking.restriction_model", "networking.restriction_rules",
    "networking.disable_internet_endpoint", "networking.use_host_network",
    "runtime.cuda", "runtime.base_image", "runtime.worker_image", "runtime.core_pattern",
    "runtime.disable_image_accelerate", "runtime.disable_image_cache",
    "storage[].dataset", "storage[].code", "storage[].nfs.resourceGroup",
)  # fmt: skip

# Berth will honour these later: "accepted, not enforced yet".
NOT_ENFORCED_YET_KEYS: tuple[str, ...] = (
    "metadata.gpu", "metadata.gpu_memory", "metadata.gpu_core_percentage", "metadata.qos",
    "metadata.enable_webservice", "metadata.type", "metadata.scheduling",
    "metadata.group", "metadata.role", "metadata.release", "metadata.traffic_state",
    # metadata.rpc.keepalive is honoured: it is the request timeout.
    "metadata.rpc.batching", "metadata.rpc.io_threads", "metadata.rpc.worker_threads", "metadata.rpc.max_queue_size",
    "metadata.rpc.max_batch_size", "metadata.rpc.max_batch_timeout", "metadata.rpc.rate_limit",
    "metadata.rpc.enable_sigterm", "metadata.rpc.proxy_path", "metadata.rpc.enable_jemalloc", "metadata.rpc.mirror",
    "metadata.rpc.enable_service_hang_detect", "metadata.rpc.service_hang_detect_period",
    "metadata.rpc.decompressor", "metadata.rpc.disable_auto_queue_watch", "metadata.rpc.health_check_path",
    "metadata.rpc.health_check_port", "metadata.rpc.retries",
    "runtime.enable_crash_block", "containers[].resources",
)  # fmt: skip

_WARNINGS = {
    "alibaba": "ignored: {key} only applies on Alibaba Cloud",
    "later": "accepted, not enforced yet: Berth keeps {key} but does not act on it yet",
}
_WARNED_KEYS = compile_tables({"alibaba": ALIBABA_ONLY_KEYS, "later": NOT_ENFORCED_YET_KEYS})


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
    model = None
    try:
        model = ServiceSpec.model_validate(data)
    except ValidationError as exc:
        problems += [(error["loc"], _message(error)) for error in exc.errors(include_url=False)]
    problems += check_rules(data)
    # A mask where a secret belongs replaces whatever else is said about that value.
    masked = {loc for loc in secret_locs(data) if get_at(data, loc) == SECRET_MASK}
    if masked:
        problems = [problem for problem in problems if problem[0] not in masked]
        problems += [(loc, MASKED_MESSAGE) for loc in sorted(masked, key=format_path)]
    errors = _issues(problems, renames)
    warned = find_keys(data, _WARNED_KEYS)
    warnings = _issues([(loc, _WARNINGS[label].format(key=_key(loc))) for loc, label in warned], renames)
    scaler_errors, scaler_warnings = scaler_issues(data, renames, errors)
    errors, warnings = errors + scaler_errors, warnings + scaler_warnings
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


def _key(loc: Loc) -> str:
    return next(str(part) for part in reversed(loc) if isinstance(part, str))


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


# --- pydantic errors as sentences ---------------------------------------------------------------

# "required" messages for missing keys, by path with "[]" for any index.
_REQUIRED = {
    "name": "required: the service name, here or as metadata.name",
    "containers": 'required: the containers to run, e.g. [{"image": "...", "command": "...", "port": 8000}]',
    "metadata": 'required: an object with at least "instance", the number of instances',
    "metadata.instance": "required: the number of instances, an integer of at least 0",
    "containers[].image": "required: the image to run, e.g. registry.example.com/team/app:1.0",
    "containers[].env[].name": "required: the variable name",
    "containers[].env[].value": "required: the value, a string (it may be empty)",
    "storage[].mount_path": "required: the absolute path to mount at, e.g. /models",
    "autoscaler.min": "required: the minimum number of instances, at least 0",
    "autoscaler.max": "required: the maximum number of instances, at most 3000",
}
_BY_TYPE = {
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be an array",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "float_type": "must be a number",
}


def _pattern(loc: Loc) -> str:
    return ".".join("[]" if type(part) is int else str(part) for part in loc).replace(".[]", "[]")


def _message(error: Any) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return _REQUIRED.get(_pattern(loc)) or _required_from_description(loc)
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    if error.get("input", ...) is None:
        required = _REQUIRED.get(_pattern(loc))
        return f"must not be null; {required}" if required else "must not be null: leave the key out instead"
    if kind == "berth":
        return error["ctx"]["message"]
    if kind == "too_short":
        if loc == ("containers",):
            return "must list at least one container"
        return "must not be empty"
    return _BY_TYPE.get(kind) or error["msg"]


def _required_from_description(loc: Loc) -> str:
    """ "required: <the field's description>", e.g. "required: OSS path, oss://bucket/dir/." """
    model = _model_at(tuple(loc[:-1]))
    info = _fields_by_alias(model).get(loc[-1]) if model else None
    return f"required: {info.description}" if info and info.description else "required"


def _unknown_key_message(loc: Loc) -> str:
    key = str(loc[-1])
    model = _model_at(tuple(loc[:-1]))
    if model is None:
        return f"unknown key '{key}'"
    known = [*_fields_by_alias(model), *model.berth_aliases]
    # difflib only here, on the error path: it is slow and valid configs never need it.
    same_but_case = [candidate for candidate in known if candidate.lower() == key.lower()]
    match = same_but_case or difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if match:
        return f"unknown key '{key}'; did you mean '{match[0]}'?"
    if len(known) <= 10:
        return f"unknown key '{key}'; the keys allowed here are {', '.join(known)}"
    return f"unknown key '{key}'; see the service config schema for the keys allowed here"


@cache
def _fields_by_alias(model: type[BaseModel]) -> dict[str, Any]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _shape(annotation: Any) -> tuple[str, Any] | None:
    """("model", cls), ("list", shape), ("dict", shape) or None for a leaf."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _shape(get_args(annotation)[0])
    if origin is list:
        return ("list", _shape(get_args(annotation)[0]))
    if origin is dict:
        return ("dict", _shape(get_args(annotation)[1]))
    if origin in (Union, types.UnionType):
        return next((shape for shape in map(_shape, get_args(annotation)) if shape), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the object at canonical `loc`, if any."""
    shape: tuple[str, Any] | None = ("model", ServiceSpec)
    for part in loc:
        if shape is None:
            return None
        kind, inner = shape
        if kind == "model":
            info = _fields_by_alias(inner).get(part)
            shape = _shape(info.annotation) if info else None
        else:  # a list index or a map key
            shape = inner
    return shape[1] if shape and shape[0] == "model" else None


# --- JSON schema --------------------------------------------------------------------------------


def service_config_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of the config, for editors; served at /api/v1/schema/service-config.json."""
    return json.loads(_schema_text())


@cache
def _schema_text() -> str:
    # Built once and kept as text: every caller gets its own copy to modify.
    schema = ServiceSpec.model_json_schema(by_alias=True, mode="validation")
    defs = schema["$defs"]
    _tidy(schema)
    # The other forms validate_config accepts, so that editors do not flag them.
    defs["Container"]["properties"]["readiness_check"] = {
        "$ref": "#/$defs/Probe",
        "description": "Another name for health_check (give one of them); stored as health_check.",
    }
    defs["Metadata"]["properties"]["name"] = {
        **schema["properties"]["name"],
        "description": "The service name, when it is not given at the top level.",
    }
    defs["Metadata"]["properties"]["autoscaler"] = {
        "$ref": "#/$defs/Autoscaler",
        "description": "Another place for the top-level autoscaler; stored at the top level.",
    }
    defs["Runtime"]["properties"]["termination_grace_period"] = {
        **defs["EasOptions"]["properties"]["termination_grace_period"],
        "description": "Another place for metadata.eas.termination_grace_period; stored there.",
    }
    defs["Metadata"]["patternProperties"] = {
        rf"^(?:{'|'.join(DOTTED_METADATA_KEYS)})\.": {"description": 'Dotted form of a nested key: "rpc.keepalive".'}
    }
    schema["required"].remove("name")
    for path in ALIBABA_ONLY_KEYS:
        _describe(schema, path, "Alibaba Cloud only: kept, ignored by Berth.")
    for path in NOT_ENFORCED_YET_KEYS:
        _describe(schema, path, "Accepted; Berth does not enforce it yet.")
    schema.pop("title", None)
    header = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Berth service config",
        "description": "An EAS-style service config (image mode). name may also be given as metadata.name.",
    }
    return json.dumps({**header, **{key: value for key, value in schema.items() if key != "description"}})


def _tidy(schema: dict) -> None:
    """Drop pydantic's noise: `default: null` (absent means absent) and generated property titles.

    Walks by keyword, not by key name: a property may itself be called "properties".
    """
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if prop.get("default", ...) is None:
            del prop["default"]
    children = [*schema.get("properties", {}).values(), *schema.get("$defs", {}).values()]
    children += [schema[key] for key in ("items", "additionalProperties") if isinstance(schema.get(key), dict)]
    children += [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]
    for child in children:
        _tidy(child)


def _describe(schema: dict, path: str, note: str) -> None:
    """Append `note` to the description of the property at table `path`."""
    defs = schema["$defs"]

    def deref(node: dict) -> dict:
        return defs[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node

    node = schema
    for part in path.replace("[]", ".[]").split("."):
        node = deref(node)["items"] if part == "[]" else deref(node)["properties"][part]
    node["description"] = f"{node.get('description', '')} {note}".strip()
