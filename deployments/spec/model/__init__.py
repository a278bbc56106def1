"""The typed model of a service config (EAS image mode), for deployments.spec.

`ServiceSpec` validates the *normalised* form that deployments.spec.checks.normalise
produces (top-level `name`, nested metadata keys, `health_check` rather than
`readiness_check`); `ServiceSpec.canonical()` is the canonical config.

Conventions, all on purpose:
* strict=True: JSON types are taken literally ("80" is not a port, true is not 1).
* extra="forbid": an unknown key is an error (deployments.spec adds a suggestion).
* Optional keys are declared `key: T = opt(...)`. The default None is never
  validated, so an absent key stays absent in a dump with exclude_unset, while an
  explicit JSON null is rejected because T does not admit None: leaving the key
  out is the one way to omit it.
* Leaf types carry the sentence a person reads (`with_message`), so an error says
  "must be an integer between 1 and 65535" instead of pydantic's text.
* Alibaba-only keys are typed JsonValue / JsonObject: kept, never interpreted.
  Which keys warn is decided by the tables in deployments.spec, not here.

Field order is the canonical key order. No Django here: the CLI imports this.
"""

from deployments.spec.model.base import INT_MAX, MAX_INSTANCES, NAME_RULE, RESERVED_PORTS
from deployments.spec.model.leaves import IMAGE_PATTERN, IMAGE_RULE, TOKEN_MIN_LENGTH
from deployments.spec.model.service import ServiceSpec
from deployments.spec.model.storage import HOST_PATH, STORAGE_TYPES

__all__ = [
    "HOST_PATH",
    "IMAGE_PATTERN",
    "IMAGE_RULE",
    "INT_MAX",
    "MAX_INSTANCES",
    "NAME_RULE",
    "RESERVED_PORTS",
    "STORAGE_TYPES",
    "TOKEN_MIN_LENGTH",
    "ServiceSpec",
]
