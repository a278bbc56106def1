"""The JSON Schema of a service config, for editors; built from the model and the key tables."""

import json
from functools import cache

from deployments.spec.checks import DOTTED_METADATA_KEYS
from deployments.spec.keys import ALIBABA_ONLY_KEYS, NOT_ENFORCED_YET_KEYS
from deployments.spec.model import ServiceSpec


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
