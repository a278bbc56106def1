"""Pydantic's validation errors as sentences a person can act on ("required: ...", "unknown key ...")."""

import difflib
import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from deployments.spec.model import ServiceSpec
from deployments.spec.paths import Loc

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


def error_message(error: Any) -> str:
    """The sentence for one pydantic error (an item of ValidationError.errors())."""
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
