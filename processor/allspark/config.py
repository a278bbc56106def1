"""Processor settings: EAS `rpc.*` keys and friends, resolved from code, the service config and the environment.

Precedence, lowest first (a later source overrides an earlier one, key by key):

1. built-in defaults: EAS processor-mode values (`rpc.worker_threads` 5, `rpc.max_queue_size` 64,
   `rpc.keepalive` 5000 ms, `eas.termination_grace_period` 30 s, endpoint 0.0.0.0:8080);
2. `allspark.default_properties().put(key, value)` in the processor's code;
3. keyword arguments of the `BaseProcessor` constructor (`worker_threads=`, `endpoint=`, ...);
4. the EAS service config in `ALLSPARK_SERVICE_CONFIG` (JSON text, or the path of a JSON file):
   `metadata.rpc.<key>` (nested or the dotted `"rpc.<key>"`), `metadata["eas.termination_grace_period"]`,
   `containers[0].port` (as the endpoint's port), `model_path` (a local path) and `model_config`;
5. one environment variable per key: `ALLSPARK_` + the key upper-cased with dots as underscores
   (`ALLSPARK_RPC_KEEPALIVE`, `ALLSPARK_ENDPOINT`, `ALLSPARK_MODEL_PATH`, ...).

Deployment-time sources win over code so an operator can tune a built image without rebuilding it.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Mapping

ENV_PREFIX = "ALLSPARK_"
SERVICE_CONFIG_ENV = "ALLSPARK_SERVICE_CONFIG"

# The directory pai-python-sdk mounts a service's model at; where get_model_path() points by default.
DEFAULT_MODEL_PATH = "/eas/workspace/model"

DEFAULTS: dict[str, str] = {
    "rpc.worker_threads": "5",
    "rpc.max_queue_size": "64",
    "rpc.keepalive": "5000",
    "rpc.rate_limit": "0",
    "rpc.io_threads": "4",
    "rpc.worker_processes": "1",
    "eas.termination_grace_period": "30",
    "endpoint": "0.0.0.0:8080",
    "model_path": DEFAULT_MODEL_PATH,
    "model_config": "",
}

# Constructor keyword -> property key.
CONSTRUCTOR_KEYS = {
    "worker_threads": "rpc.worker_threads",
    "io_threads": "rpc.io_threads",
    "worker_processes": "rpc.worker_processes",
    "endpoint": "endpoint",
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


class Properties:
    """A thread-safe string map, the shape of allspark's `default_properties()`: keys and values are str or bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}

    def put(self, key: str | bytes, value: Any) -> None:
        with self._lock:
            self._values[_text(key)] = _text(value)

    def get(self, key: str | bytes, default: Any = None) -> str | None:
        with self._lock:
            return self._values.get(_text(key), default)

    def items(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._values.items())

    def __repr__(self) -> str:
        return f"Properties({dict(self.items())!r})"


_DEFAULT_PROPERTIES = Properties()


def default_properties() -> Properties:
    """The process-wide properties code may set before or during `initialize()`, e.g. `put('rpc.keepalive', '10000')`."""
    return _DEFAULT_PROPERTIES


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper().replace(".", "_")


def load_service_config(environ: Mapping[str, str]) -> dict[str, str]:
    """Property values found in the EAS service config named by ALLSPARK_SERVICE_CONFIG; {} when it is unset.

    Raises ValueError with the source named when the JSON is malformed.
    """
    raw = environ.get(SERVICE_CONFIG_ENV, "").strip()
    if not raw:
        return {}
    source = SERVICE_CONFIG_ENV
    if not raw.startswith("{"):
        source = f"{SERVICE_CONFIG_ENV} file {raw}"
        try:
            with open(raw, encoding="utf-8") as handle:
                raw = handle.read()
        except OSError as exc:
            raise ValueError(f"{source}: cannot read it: {exc.strerror}") from exc
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ValueError(f"{source}: expected a JSON object")
    return _properties_from_service_config(config)


def _properties_from_service_config(config: dict) -> dict[str, str]:
    found: dict[str, str] = {}
    metadata = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    rpc = metadata.get("rpc") if isinstance(metadata.get("rpc"), dict) else {}
    for name, value in rpc.items():
        found[f"rpc.{name}"] = _text(value)
    for name, value in metadata.items():
        if name.startswith("rpc."):  # EAS accepts the dotted form beside the nested one; dotted wins if both
            found[name] = _text(value)
    eas = metadata.get("eas") if isinstance(metadata.get("eas"), dict) else {}
    grace = metadata.get("eas.termination_grace_period", eas.get("termination_grace_period"))
    if grace is not None:
        found["eas.termination_grace_period"] = _text(grace)
    containers = config.get("containers")
    if isinstance(containers, list) and containers and isinstance(containers[0], dict) and containers[0].get("port"):
        found["endpoint"] = f"0.0.0.0:{containers[0]['port']}"
    model_path = config.get("model_path")
    if isinstance(model_path, str) and model_path.startswith("/"):  # oss:// and http URLs are EAS-side downloads
        found["model_path"] = model_path
    model_config = config.get("model_config")
    if model_config is not None:
        found["model_config"] = model_config if isinstance(model_config, str) else json.dumps(model_config)
    return found


def resolve(
    constructor: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    properties: Properties | None = None,
) -> dict[str, str]:
    """Every property's effective string value, merged in the documented precedence order."""
    environ = os.environ if environ is None else environ
    properties = _DEFAULT_PROPERTIES if properties is None else properties
    merged = dict(DEFAULTS)
    merged.update(properties.items())
    for name, value in (constructor or {}).items():
        if value is not None:
            merged[CONSTRUCTOR_KEYS[name]] = _text(value)
    merged.update(load_service_config(environ))
    for key in list(merged):
        if env_name(key) in environ:
            merged[key] = environ[env_name(key)]
    return merged


class Settings:
    """The typed subset of the properties the server runs with; raises ValueError naming a malformed key."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.worker_threads = _integer(values, "rpc.worker_threads", minimum=1)
        self.max_queue_size = _integer(values, "rpc.max_queue_size", minimum=0)
        # 0 (or less) switches the per-request deadline off.
        self.keepalive_ms = max(0, _integer(values, "rpc.keepalive", minimum=None))
        self.rate_limit = _integer(values, "rpc.rate_limit", minimum=0)  # requests per second; 0 = off
        self.grace_seconds = float(_integer(values, "eas.termination_grace_period", minimum=0))
        self.worker_processes = _integer(values, "rpc.worker_processes", minimum=1)
        self.host, self.port = parse_endpoint(values["endpoint"])
        self.model_path = values["model_path"]
        self.model_config = values["model_config"]

    def describe(self) -> str:
        keepalive = f"{self.keepalive_ms} ms" if self.keepalive_ms else "off"
        return (
            f"worker_threads={self.worker_threads} max_queue_size={self.max_queue_size} keepalive={keepalive} "
            f"grace={self.grace_seconds:g}s" + (f" rate_limit={self.rate_limit}/s" if self.rate_limit else "")
        )


def _integer(values: Mapping[str, str], key: str, *, minimum: int | None) -> int:
    raw = values[key]
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"{key}: expected an integer, got {raw!r}") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{key}: must be at least {minimum}, got {number}")
    return number


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """`host:port`, `:port` or `port` -> (host, port); the host defaults to 0.0.0.0."""
    host, sep, port = str(endpoint).strip().rpartition(":")
    if not sep:
        host = ""
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"endpoint: expected host:port, got {endpoint!r}") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"endpoint: port out of range in {endpoint!r}")
    return host.strip("[]") or "0.0.0.0", number
