"""The service form: moving values between the form's fields and a service config.

The form is a view of a config, not a second definition of one: every rule lives in
deployments.spec, which validates what `to_config` builds. This module only

* reads a config into form fields (`from_config`),
* reads POSTed fields (`from_post`) and builds a config from them (`to_config`),
* maps the spec's error paths (`containers[0].port`) to the field they belong to.

Whatever the form has no field for (sidecar containers, `autoscaler`, `labels`,
`metadata.rpc`, `http_get.scheme`, a `dataset` mount's keys, ...) stays in the
`extra` JSON and is merged back when the config is built, so
form -> JSON -> form -> JSON is a fixed point. A value is only taken into a field
when the field gives it back unchanged: an explicit `false`, `""` or `[]` (which an
empty field would drop) stays in `extra` instead.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from deployments.spec import HOST_PATH, DockerAuthError, decode_docker_auth, encode_docker_auth
from deployments.spec import STORAGE_TYPES as MOUNT_TYPES

ENTRY_KINDS = ("command", "script")
REGISTRY_MODES = ("none", "password", "dockerauth", "credential")
HC_TYPES = ("none", "http_get", "tcp_socket", "exec")
HC_TIMINGS = ("initial_delay_seconds", "period_seconds", "timeout_seconds", "success_threshold", "failure_threshold")
HC_TIMING_LABELS = {
    "initial_delay_seconds": "Initial delay (s)",
    "period_seconds": "Period (s)",
    "timeout_seconds": "Timeout (s)",
    "success_threshold": "Success threshold",
    "failure_threshold": "Failure threshold",
}
# Older EAS exports call the readiness probe `readiness_check`; the canonical name is `health_check`.
HC_KEYS = ("health_check", "readiness_check")

# Storage types with fields in the form: type -> [(config key, field suffix, kind)].
STORAGE_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "oss": [("path", "path", "text"), ("readOnly", "read_only", "bool")],
    "nfs": [("server", "server", "text"), ("path", "path", "text"), ("readOnly", "read_only", "bool")],
    "git": [
        ("repo", "repo", "text"),
        ("branch", "branch", "text"),
        ("commit", "commit", "text"),
        ("username", "username", "text"),
        ("password", "password", "text"),
    ],
    "image": [("image", "image", "text"), ("path", "path", "text")],
    "empty_dir": [("medium", "medium", "text"), ("size_limit", "size_limit", "number")],
    # Berth's extension: a directory of the Docker host, written as {"berth": {"host_path", "readOnly"}}.
    "host_path": [("host_path", "path", "text"), ("readOnly", "read_only", "bool")],
}
# The spec's order; the types the form has fields for.
STORAGE_TYPES = tuple(t for t in (*MOUNT_TYPES, HOST_PATH) if t in STORAGE_FIELDS)
# Where a type's fields live in the entry: its own key, except host paths (under `berth`).
STORAGE_CONFIG_KEY = {"host_path": "berth"}


def _storage_key(storage_type: str) -> str:
    return STORAGE_CONFIG_KEY.get(storage_type, storage_type)


def _is_type_of(entry: dict, storage_type: str) -> bool:
    """Does `entry` carry this type? `berth` alone (e.g. an oss mount's berth.object_store) is no host path."""
    body = entry.get(_storage_key(storage_type))
    return isinstance(body, dict) and (storage_type != "host_path" or "host_path" in body)


# Every type key a storage entry may carry (EAS's list); a row keeps only the one it selects.
ALL_STORAGE_TYPE_KEYS = (*MOUNT_TYPES, HOST_PATH)
STORAGE_FIELD_NAMES = tuple(f"{t}_{suffix}" for t, spec in STORAGE_FIELDS.items() for _, suffix, _ in spec)

_NUMBER_RE = re.compile(r"^-?\d+$")
_FLOAT_RE = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


# --- form state ------------------------------------------------------------------------------


@dataclass
class EnvRow:
    name: str = ""
    value: str = ""
    prefix: str = ""  # "env-0-": the POST name prefix and error-slot prefix
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class StorageRow:
    type: str = ""
    mount_path: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # "oss_path" -> "oss://b/", "oss_read_only" -> True
    extra: str = ""  # JSON of this entry's keys the form has no field for
    other_type: str = ""  # a type key the form cannot edit (dataset, code, ...): kept whole in `extra`
    loaded_type: str = ""  # the type when the config was read; `extra` keys of that type go if it changes
    prefix: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def type_choices(self) -> list[str]:
        return (
            ([""] if self.loaded_type == "" and self.type == "" else [])
            + list(STORAGE_TYPES)
            + ([self.other_type] if self.other_type else [])
        )


@dataclass
class ServiceForm:
    """Everything the form shows. Strings are what the inputs hold; booleans are checkboxes."""

    name: str = ""
    image: str = ""
    entry: str = "command"
    command: str = ""
    script: str = ""
    port: str = ""
    env: list[EnvRow] = field(default_factory=list)
    registry_auth: str = "none"
    registry_username: str = ""
    registry_password: str = ""
    docker_auth: str = ""
    registry_credential: str = ""
    storage: list[StorageRow] = field(default_factory=list)
    requirements: str = ""
    requirements_path: str = ""
    hc_key: str = "health_check"
    hc_type: str = "none"
    hc_loaded_type: str = "none"  # the probe type when the config was read (see StorageRow.loaded_type)
    hc_path: str = ""
    hc_port: str = ""
    hc_command: str = ""
    hc_timings: dict[str, str] = field(default_factory=dict)
    instance: str = ""
    cpu: str = ""
    memory: str = ""
    enable_grpc: bool = False
    extra: str = ""
    # Filled by `attach_errors`.
    errors: dict[str, list[str]] = field(default_factory=dict)
    general_errors: list[str] = field(default_factory=list)

    def renumber(self) -> None:
        """Give each row its POST prefix after rows were added, removed or read."""
        for i, row in enumerate(self.env):
            row.prefix = f"env-{i}-"
        for i, row in enumerate(self.storage):
            row.prefix = f"storage-{i}-"

    @property
    def hc_timing_fields(self) -> list[tuple[str, str, str, list[str]]]:
        """(name, label, value, errors) of each probe timing, for the template's loop."""
        return [
            (name, HC_TIMING_LABELS[name], self.hc_timings.get(name, ""), self.errors.get(f"hc_{name}", []))
            for name in HC_TIMINGS
        ]

    @property
    def problem_count(self) -> int:
        return sum(len(messages) for messages in self.errors.values()) + len(self.general_errors)

    def slot_names(self) -> list[str]:
        """Every error slot the rendered form has, so an htmx response can clear or fill each one."""
        names = [
            "name", "image", "entry", "command", "script", "port", "env", "registry_auth", "registry_credential",
            "storage", "requirements", "requirements_path", "hc_type", "hc_path", "hc_port", "hc_command",
            *(f"hc_{t}" for t in HC_TIMINGS), "instance", "cpu", "memory", "enable_grpc", "extra",
        ]  # fmt: skip
        for row in self.env:
            names += [f"{row.prefix}name", f"{row.prefix}value"]
        for row in self.storage:
            names += [f"{row.prefix}{f}" for f in ("type", "mount_path", *STORAGE_FIELD_NAMES)]
        return names

    def error_slots(self) -> list[tuple[str, list[str]]]:
        return [(name, self.errors.get(name, [])) for name in self.slot_names()]


# --- POST -> form ----------------------------------------------------------------------------


def _text(data: QueryDict, key: str) -> str:
    # Browsers send textarea line breaks as CRLF; configs use LF.
    return data.get(key, "").replace("\r\n", "\n")


def _count(data: QueryDict, prefix: str) -> int:
    try:
        return max(0, min(int(data.get(f"{prefix}-TOTAL", "0")), 200))
    except ValueError:
        return 0


def from_post(data: QueryDict) -> ServiceForm:
    """The form as the browser sent it. Never fails: odd values are passed on for the spec to judge."""
    form = ServiceForm(
        name=_text(data, "name"),
        image=_text(data, "image"),
        entry=data.get("entry") if data.get("entry") in ENTRY_KINDS else "command",
        command=_text(data, "command"),
        script=_text(data, "script"),
        port=_text(data, "port"),
        registry_auth=data.get("registry_auth") if data.get("registry_auth") in REGISTRY_MODES else "none",
        registry_username=_text(data, "registry_username"),
        registry_password=_text(data, "registry_password"),
        docker_auth=_text(data, "docker_auth"),
        registry_credential=_text(data, "registry_credential"),
        requirements=_text(data, "requirements"),
        requirements_path=_text(data, "requirements_path"),
        hc_key=data.get("hc_key") if data.get("hc_key") in HC_KEYS else "health_check",
        hc_type=data.get("hc_type") if data.get("hc_type") in HC_TYPES else "none",
        hc_loaded_type=data.get("hc_loaded_type") if data.get("hc_loaded_type") in HC_TYPES else "none",
        hc_path=_text(data, "hc_path"),
        hc_port=_text(data, "hc_port"),
        hc_command=_text(data, "hc_command"),
        hc_timings={name: _text(data, f"hc_{name}") for name in HC_TIMINGS},
        instance=_text(data, "instance"),
        cpu=_text(data, "cpu"),
        memory=_text(data, "memory"),
        enable_grpc=bool(data.get("enable_grpc")),
        extra=_text(data, "extra"),
    )
    for i in range(_count(data, "env")):
        p = f"env-{i}-"
        form.env.append(EnvRow(name=_text(data, p + "name"), value=_text(data, p + "value")))
    for i in range(_count(data, "storage")):
        p = f"storage-{i}-"
        other_type = _text(data, p + "other_type")
        loaded_type = _text(data, p + "loaded_type")
        row_type = data.get(p + "type", "")
        if row_type not in STORAGE_TYPES and row_type not in (other_type, loaded_type):
            row_type = ""
        values: dict[str, Any] = {}
        for storage_type, spec in STORAGE_FIELDS.items():
            for _, suffix, kind in spec:
                name = f"{storage_type}_{suffix}"
                values[name] = bool(data.get(p + name)) if kind == "bool" else _text(data, p + name)
        form.storage.append(
            StorageRow(
                type=row_type,
                mount_path=_text(data, p + "mount_path"),
                values=values,
                extra=_text(data, p + "extra"),
                other_type=other_type,
                loaded_type=loaded_type,
            )
        )
    form.renumber()
    return form


def apply_op(form: ServiceForm, op: str) -> None:
    """Add or remove a row: `add-env`, `remove-env-2`, `add-storage`, `remove-storage-0`."""
    match op.split("-"):
        case ["add", "env"]:
            form.env.append(EnvRow())
        case ["add", "storage"]:
            form.storage.append(StorageRow(type="oss", values=_empty_storage_values()))
        case ["remove", "env", index] if index.isdigit() and int(index) < len(form.env):
            del form.env[int(index)]
        case ["remove", "storage", index] if index.isdigit() and int(index) < len(form.storage):
            del form.storage[int(index)]
    form.renumber()


def _empty_storage_values() -> dict[str, Any]:
    return {
        f"{t}_{suffix}": (False if kind == "bool" else "")
        for t, spec in STORAGE_FIELDS.items()
        for _, suffix, kind in spec
    }


# --- form -> config --------------------------------------------------------------------------


def _number(text: str) -> Any:
    """ "8000" -> 8000, "0.5" -> 0.5, "" -> None (key left out); anything else as typed, for the spec to reject."""
    stripped = text.strip()
    if stripped == "":
        return None
    if _NUMBER_RE.match(stripped):
        return int(stripped)
    if _FLOAT_RE.match(stripped):
        return float(stripped)
    return text


def _put(target: dict, key: str, value: Any) -> None:
    """Set `key` unless the field (or every field of a section) was left empty."""
    if value is None or value is False or (isinstance(value, (str, list, dict)) and not value):
        return
    target[key] = value


def parse_json_object(text: str, what: str) -> tuple[dict | None, str | None]:
    """(object, None) or (None, a sentence with the line and column of the problem)."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except RecursionError:  # the decoder recurses per level: past ~1000 it raises this, not a ValueError
        return None, f"{what} is nested too deeply to read"
    if not isinstance(value, dict):
        return None, f"{what} must be a JSON object ({{...}}), not {type(value).__name__}"
    return value, None


def merge(base: Any, overlay: Any, *, key: str = "") -> Any:
    """`overlay` over `base`: objects merge key by key, `containers` item by item, anything else is replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        # The form's keys first: an invalid config's preview then reads in form order (a valid one is canonical anyway).
        result = {k: merge(base[k], v, key=k) if k in base else copy.deepcopy(v) for k, v in overlay.items()}
        result.update({k: copy.deepcopy(v) for k, v in base.items() if k not in overlay})
        return result
    if key == "containers" and isinstance(base, list) and isinstance(overlay, list):
        # The form edits containers[0]; sidecars and containers[0]'s other keys come from `extra`.
        longer = overlay if len(overlay) >= len(base) else base
        return [
            merge(base[i], overlay[i]) if i < len(base) and i < len(overlay) else copy.deepcopy(longer[i])
            for i in range(len(longer))
        ]
    return copy.deepcopy(overlay)


def to_config(form: ServiceForm) -> tuple[dict, list[tuple[str, str]]]:
    """The config the form describes, and problems only the form can have as (field, message).

    Values that do not look like numbers are passed on as typed: the spec, not the
    form, says what is wrong with them.
    """
    problems: list[tuple[str, str]] = []
    extra, problem = parse_json_object(form.extra, "Other keys")
    if problem:
        problems.append(("extra", problem))
        extra = {}

    container: dict[str, Any] = {}
    _put(container, "image", form.image)
    if form.entry == "script":
        _put(container, "script", form.script)
    else:
        _put(container, "command", form.command)
    _put(container, "port", _number(form.port))
    _put(container, "env", [{"name": row.name, "value": row.value} for row in form.env if row.name or row.value])
    prepare: dict[str, Any] = {}
    _put(prepare, "pythonRequirements", [line.strip() for line in form.requirements.splitlines() if line.strip()])
    _put(prepare, "pythonRequirementsPath", form.requirements_path)
    _put(container, "prepare", prepare)
    _put(container, form.hc_key, _probe(form, problems))
    extra_containers = extra.get("containers")
    if form.hc_type != form.hc_loaded_type and isinstance(extra_containers, list) and extra_containers:
        _drop_types(extra_containers[0], form.hc_key, keep=form.hc_type, types=HC_TYPES[1:])

    config: dict[str, Any] = {}
    _put(config, "name", form.name)
    _put(config, "containers", [container])
    if form.registry_auth == "password" and (form.registry_username or form.registry_password):
        config["dockerAuth"] = encode_docker_auth(form.registry_username, form.registry_password)
    elif form.registry_auth == "dockerauth":
        _put(config, "dockerAuth", form.docker_auth)
    elif form.registry_auth == "credential" and form.registry_credential:
        config["berth"] = {"registry_credential": form.registry_credential}
    _put(config, "storage", [_storage_entry(row, problems) for row in form.storage])
    metadata: dict[str, Any] = {}
    _put(metadata, "instance", _number(form.instance))
    _put(metadata, "cpu", _number(form.cpu))
    _put(metadata, "memory", _number(form.memory))
    _put(metadata, "enable_grpc", form.enable_grpc)
    _put(config, "metadata", metadata)
    return merge(extra, config), problems


def _probe(form: ServiceForm, problems: list[tuple[str, str]]) -> dict:
    probe: dict[str, Any] = {}
    if form.hc_type == "http_get":
        http_get: dict[str, Any] = {}
        _put(http_get, "path", form.hc_path)
        _put(http_get, "port", _number(form.hc_port))
        probe["http_get"] = http_get
    elif form.hc_type == "tcp_socket":
        tcp: dict[str, Any] = {}
        _put(tcp, "port", _number(form.hc_port))
        probe["tcp_socket"] = tcp
    elif form.hc_type == "exec":
        try:
            command = shlex.split(form.hc_command)
        except ValueError as exc:
            problems.append(("hc_command", f"cannot split the command into words: {exc}"))
            command = []
        probe["exec"] = {"command": command} if command else {}
    else:
        return probe
    for name in HC_TIMINGS:
        _put(probe, name, _number(form.hc_timings.get(name, "")))
    return probe


def _drop_types(parent: Any, key: str, *, keep: str, types: tuple[str, ...]) -> None:
    """The user changed a probe's or a mount's type: `extra` keys of the other types no longer apply."""
    node = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(node, dict):
        return
    for name in types:
        if name and name != keep:
            node.pop(name, None)
    if not node:
        del parent[key]


def _storage_entry(row: StorageRow, problems: list[tuple[str, str]]) -> dict:
    extra, problem = parse_json_object(row.extra, "This mount's other keys")
    if problem:
        problems.append((f"{row.prefix}type", problem))
        extra = {}
    if row.type != row.loaded_type:
        wrapper = {"entry": extra}
        _drop_types(wrapper, "entry", keep=row.type, types=(*ALL_STORAGE_TYPE_KEYS, row.other_type))
        extra = wrapper.get("entry", {})
    entry: dict[str, Any] = {}
    _put(entry, "mount_path", row.mount_path)
    if row.type in STORAGE_FIELDS:
        body: dict[str, Any] = {}
        for key, suffix, kind in STORAGE_FIELDS[row.type]:
            value = row.values.get(f"{row.type}_{suffix}", False if kind == "bool" else "")
            _put(body, key, _number(value) if kind == "number" else value)
        entry[_storage_key(row.type)] = body
    return merge(extra, entry)


# --- config -> form --------------------------------------------------------------------------


def _take_text(source: dict, key: str, *, multiline: bool = False) -> str:
    """Move a string out of `source` if a text field gives it back unchanged."""
    value = source.get(key)
    if isinstance(value, str) and value != "" and (multiline or "\n" not in value) and "\r" not in value:
        del source[key]
        return value
    return ""


def _take_number(source: dict, key: str) -> str:
    """Move a number out of `source`; a string is taken too (as typed), so the spec's complaint has a field."""
    value = source.get(key)
    if type(value) in (int, float) and _number(str(value)) == value and type(_number(str(value))) is type(value):
        del source[key]
        return str(value)
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value:
        del source[key]
        return value
    return ""


def _take_true(source: dict, key: str) -> bool:
    if source.get(key) is True:
        del source[key]
        return True
    return False


def _prune(node: dict, *path: str) -> None:
    """Remove empty objects along `path` so emptied-out sections do not linger in `extra`."""
    if not path:
        return
    child = node.get(path[0])
    if isinstance(child, dict):
        _prune(child, *path[1:])
        if not child:
            del node[path[0]]


def from_config(config: Any) -> ServiceForm:
    """The form showing `config`; whatever has no field stays in `form.extra`. Never fails."""
    if not isinstance(config, dict):
        return ServiceForm(extra=json.dumps(config, indent=2))
    rest = copy.deepcopy(config)
    form = ServiceForm()
    form.name = _take_text(rest, "name")
    metadata = rest.get("metadata")
    if isinstance(metadata, dict):
        if not form.name and "name" not in rest:
            form.name = _take_text(metadata, "name")
        form.instance = _take_number(metadata, "instance")
        form.cpu = _take_number(metadata, "cpu")
        form.memory = _take_number(metadata, "memory")
        form.enable_grpc = _take_true(metadata, "enable_grpc")
        _prune(rest, "metadata")

    containers = rest.get("containers")
    if isinstance(containers, list) and containers and isinstance(containers[0], dict):
        _container_to_form(containers[0], form)
        if not containers[0] and len(containers) == 1:
            del rest["containers"]

    _registry_to_form(rest, form)
    storage = rest.get("storage")
    if isinstance(storage, list) and all(isinstance(item, dict) for item in storage):
        form.storage = [_storage_row(item) for item in storage]
        del rest["storage"]

    form.extra = json.dumps(rest, indent=2) if rest else ""
    form.renumber()
    return form


def _container_to_form(container: dict, form: ServiceForm) -> None:
    form.image = _take_text(container, "image")
    if "command" in container or "script" not in container:
        form.entry = "command"
        form.command = _take_text(container, "command", multiline=True)
    else:
        form.entry = "script"
        form.script = _take_text(container, "script", multiline=True)
    form.port = _take_number(container, "port")
    env = container.get("env")
    if (
        isinstance(env, list)
        and env
        and all(
            isinstance(item, dict)
            and set(item) == {"name", "value"}
            and all(isinstance(v, str) and "\n" not in v and "\r" not in v for v in item.values())
            and (item["name"] or item["value"])
            for item in env
        )
    ):
        form.env = [EnvRow(name=item["name"], value=item["value"]) for item in env]
        del container["env"]
    prepare = container.get("prepare")
    if isinstance(prepare, dict):
        requirements = prepare.get("pythonRequirements")
        if (
            isinstance(requirements, list)
            and requirements
            and all(isinstance(r, str) and r.strip() == r and r and "\n" not in r for r in requirements)
        ):
            form.requirements = "\n".join(requirements)
            del prepare["pythonRequirements"]
        form.requirements_path = _take_text(prepare, "pythonRequirementsPath")
        _prune(container, "prepare")
    for key in HC_KEYS:
        if isinstance(container.get(key), dict):
            form.hc_key = key
            _probe_to_form(container[key], form)
            _prune(container, key)
            break


def _probe_to_form(probe: dict, form: ServiceForm) -> None:
    types = [t for t in HC_TYPES[1:] if isinstance(probe.get(t), dict)]
    if len(types) != 1:
        return  # none or several: the whole probe stays in `extra`, the spec says what is wrong
    form.hc_type = form.hc_loaded_type = types[0]
    body = probe[form.hc_type]
    if form.hc_type == "http_get":
        form.hc_path = _take_text(body, "path")
        form.hc_port = _take_number(body, "port")
    elif form.hc_type == "tcp_socket":
        form.hc_port = _take_number(body, "port")
    else:
        command = body.get("command")
        if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
            joined = shlex.join(command)
            if shlex.split(joined) == command and "\n" not in joined:
                form.hc_command = joined
                del body["command"]
    for name in HC_TIMINGS:
        form.hc_timings[name] = _take_number(probe, name)
    if not body:
        del probe[form.hc_type]  # the type selector brings it back


def _registry_to_form(rest: dict, form: ServiceForm) -> None:
    auth = rest.get("dockerAuth")
    berth = rest.get("berth")
    if isinstance(auth, str) and auth:
        user_password = _decode_docker_auth(auth)
        if user_password is not None:
            form.registry_auth = "password"
            form.registry_username, form.registry_password = user_password
        else:
            form.registry_auth = "dockerauth"
            form.docker_auth = auth
        del rest["dockerAuth"]
    elif isinstance(berth, dict):
        form.registry_credential = _take_text(berth, "registry_credential")
        if form.registry_credential:
            form.registry_auth = "credential"
        _prune(rest, "berth")


def _decode_docker_auth(value: str) -> tuple[str, str] | None:
    """("user", "password") if `value` is exactly base64("user:password"); None for anything else (e.g. the mask)."""
    try:
        user, password = decode_docker_auth(value)
    except DockerAuthError:
        return None
    # Only values the form's two fields give back unchanged; anything else stays in the dockerAuth field.
    if "\n" in user + password or "\r" in user + password or encode_docker_auth(user, password) != value:
        return None
    return user, password


def _storage_row(item: dict) -> StorageRow:
    rest = copy.deepcopy(item)
    row = StorageRow(values=_empty_storage_values())
    row.mount_path = _take_text(rest, "mount_path")
    types = [key for key in STORAGE_TYPES if _is_type_of(rest, key)]
    if len(types) == 1:
        row.type = row.loaded_type = types[0]
        body = rest[_storage_key(row.type)]
        for key, suffix, kind in STORAGE_FIELDS[row.type]:
            name = f"{row.type}_{suffix}"
            if kind == "bool":
                row.values[name] = _take_true(body, key)
            elif kind == "number":
                row.values[name] = _take_number(body, key)
            else:
                row.values[name] = _take_text(body, key)
        if not body:
            # `{"empty_dir": {}}` is a whole mount type: the selector says it, nothing is left to keep.
            del rest[_storage_key(row.type)]
    elif not types:
        # A type the form cannot edit (dataset, code, ...): select it by name, keep its keys in `extra`.
        others = [k for k, v in rest.items() if isinstance(v, dict) and k not in ("properties", "berth")]
        if len(others) == 1:
            row.type = row.other_type = row.loaded_type = others[0]
    else:
        # Several types: an invalid mount, kept whole in `extra` for the spec to report.
        row.type = row.loaded_type = types[0]
    row.extra = json.dumps(rest, ensure_ascii=False) if rest else ""  # one line: it rides in a hidden input
    return row


# --- spec error paths -> fields --------------------------------------------------------------

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _segments(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _SEGMENT.findall(path)]


def field_for_path(path: str, form: ServiceForm) -> str | None:
    """The form field an error at `path` (`containers[0].port`) belongs next to; None: shown above the form.

    An error is only put next to a field that is on screen: a mount's nfs error while
    the row shows oss goes next to the row's type selector.
    """
    match _segments(path):
        case ["name"] | ["metadata", "name"]:
            return "name"
        case ["metadata", ("instance" | "cpu" | "memory" | "enable_grpc") as key, *_]:
            return key
        case ["metadata"]:
            return "instance"  # "required: an object with at least instance"
        case ["dockerAuth", *_]:
            return "registry_auth"
        case ["berth", "registry_credential", *_]:
            return "registry_credential"
        case ["storage"]:
            return "storage"
        case ["storage", int(i), *tail] if i < len(form.storage):
            return _storage_field(form.storage[i], tail)
        case ["containers", 0, *tail]:
            return _container_field(tail, form)
    return None


def _container_field(tail: list, form: ServiceForm) -> str | None:
    match tail:
        case []:
            return "entry"  # the container-wide rule the form can show: "give command or script"
        case [("image" | "port") as key, *_]:
            return key
        case [("command" | "script") as key, *_]:
            return key if key == form.entry else "entry"
        case ["env", int(i), *rest] if i < len(form.env):
            return f"env-{i}-value" if rest[:1] == ["value"] else f"env-{i}-name"
        case ["env", *_]:
            return "env"
        case ["prepare", "pythonRequirementsPath", *_]:
            return "requirements_path"
        case ["prepare", *_]:
            return "requirements"
        case [key, *rest] if key in HC_KEYS:
            return _probe_field(rest, form)
    return None


def _probe_field(tail: list, form: ServiceForm) -> str:
    match tail:
        case [timing, *_] if timing in HC_TIMINGS and form.hc_type != "none":
            return f"hc_{timing}"
        case [probe_type, *rest] if probe_type == form.hc_type:
            if probe_type == "exec":
                return "hc_command"
            if rest[:1] == ["path"] and probe_type == "http_get":
                return "hc_path"
            if rest[:1] == ["port"]:
                return "hc_port"
    return "hc_type"


def _storage_field(row: StorageRow, tail: list) -> str:
    match tail:
        case ["mount_path", *_]:
            return f"{row.prefix}mount_path"
        case [container_key, key, *_] if container_key == _storage_key(row.type) and row.type in STORAGE_FIELDS:
            for config_key, suffix, _kind in STORAGE_FIELDS[row.type]:
                if config_key == key:
                    return f"{row.prefix}{row.type}_{suffix}"
    return f"{row.prefix}type"


def attach_errors(form: ServiceForm, errors: list[dict], problems: list[tuple[str, str]] = ()) -> None:
    """Put each spec error next to its field, and the form's own problems next to theirs.

    Errors without a field go above the form, with their path so they can still be found.
    """
    form.errors = {}
    form.general_errors = []
    placed = list(problems)
    for issue in errors:
        path, message = issue.get("path", ""), issue.get("message", "")
        slot = field_for_path(path, form)
        if slot is None:
            form.general_errors.append(f"{path}: {message}" if path else message)
        else:
            placed.append((slot, message))
    rows = [*form.env, *form.storage]
    for row in rows:
        row.errors = {}
    for slot, message in placed:
        form.errors.setdefault(slot, []).append(message)
        for row in rows:
            if slot.startswith(row.prefix):
                row.errors.setdefault(slot[len(row.prefix) :], []).append(message)
