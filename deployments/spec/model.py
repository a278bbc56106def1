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
* Leaf types carry the sentence a person reads (`_msg`), so an error says
  "must be an integer between 1 and 65535" instead of pydantic's text.
* Alibaba-only keys are typed JsonValue / JsonObject: kept, never interpreted.
  Which keys warn is decided by the tables in deployments.spec, not here.

Field order is the canonical key order. No Django here: the CLI imports this.
"""

import base64
import binascii
import re
from typing import Annotated, Any, ClassVar, Literal, NoReturn

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    WrapValidator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

# Upper bound for integers without a natural one: fits the database's integer columns.
INT_MAX = 2**31 - 1
RESERVED_PORTS = (8080, 9090)

NAME_PATTERN = r"^[a-z][a-z0-9_]{2,62}$"
NAME_RULE = "must be 3 to 63 characters: lowercase letters, digits and underscores, starting with a letter"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

# Docker's reference grammar (distribution/reference, regexp.go), with ASCII classes
# instead of \w (which is Unicode in Python) and only the registered digest algorithms.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})"
# IMAGE_PATTERN is also published in the JSON schema, so it stays ECMA-262 compatible (no named groups).
IMAGE_PATTERN = rf"^{_NAME}(?::{_TAG})?(?:@{_DIGEST})?$"
# Python's `$` also matches before a final newline, so the Python checks use fullmatch.
_IMAGE_RE = re.compile(rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?")
IMAGE_RULE = (
    "must be an image reference like registry.example.com:5000/team/app:1.0 "
    "(lowercase repository, optional :tag and @sha256:digest)"
)

_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_PERCENT_PATTERN = r"^(?:100|[1-9]?[0-9])%$"
_PERCENT_RE = re.compile(r"(?:100|[1-9]?[0-9])%")


def fail(message: str) -> NoReturn:
    """Raise a validation error whose text is exactly `message`.

    The text travels in the context, not the template, so braces in it are never
    taken as format fields.
    """
    raise PydanticCustomError("berth", "{message}", {"message": message})


def _msg(message: str) -> WrapValidator:
    """Replace whatever pydantic says about a leaf value with `message`."""

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            fail(message)

    return WrapValidator(wrap)


def _int(ge: int, le: int = INT_MAX, message: str | None = None) -> Any:
    """An integer type in [ge, le] (bools rejected by strict mode) with one sentence for every failure."""
    if message is None:
        bounds = f"of at least {ge}" if le == INT_MAX else f"between {ge} and {le}"
        message = f"must be an integer {bounds}"

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            if type(value) is int and value > le:
                fail(f"must be at most {le}")
            fail(message)

    return Annotated[int, Field(ge=ge, le=le), WrapValidator(wrap)]


def opt(description: str, **kwargs: Any) -> Any:
    """An optional key: absent stays absent, JSON null is an error (see the module docstring)."""
    return Field(None, description=description, **kwargs)


def req(description: str, **kwargs: Any) -> Any:
    return Field(description=description, **kwargs)


# --- leaf checks --------------------------------------------------------------------------------


def _port_not_reserved(port: int) -> int:
    if port in RESERVED_PORTS:
        fail(
            f"port {port} is reserved: EAS runs its engine and sidecar on 8080 and 9090; "
            "listen on another port, such as 8000"
        )
    return port


def _image_reference(value: str) -> str:
    match = _IMAGE_RE.fullmatch(value)
    if match is None:
        if _IMAGE_RE.fullmatch(value.lower()):
            fail("the repository part of an image reference must be lowercase")
        fail(IMAGE_RULE)
    if len(match["name"]) > 255:
        fail("an image name (registry and repository) must be at most 255 characters")
    return value


def _docker_auth(value: str) -> str:
    """base64 of `user:password`, as `echo -n user:password | base64` prints it."""
    rule = "must be base64 of 'user:password' (echo -n 'user:password' | base64)"
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        fail(f"{rule}; this is not valid base64")
    user, colon, _password = decoded.partition(":")
    if not colon:
        fail(f"{rule}; it decodes to text without a ':'")
    if not user:
        fail(f"{rule}; the user name before ':' is empty")
    return value


def _token(value: str) -> str:
    if not _TOKEN_RE.fullmatch(value):
        fail("must be a non-empty string of printable ASCII without spaces: it is sent in an HTTP header")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/"):
        fail("must be an absolute path, starting with /")
    return value


def _mount_path(value: str) -> str:
    _absolute_path(value)
    if value.rstrip("/") == "":
        fail("cannot mount over the container's root /; choose a directory such as /models")
    return value


def _oss_path(value: str) -> str:
    if not value.startswith("oss://") or len(value) <= len("oss://"):
        fail("must be an OSS path like oss://bucket/dir/")
    return value


def _https_url(value: str) -> str:
    if not value.startswith("https://") or len(value) <= len("https://"):
        fail("must be an https:// URL: git mounts clone over HTTPS only")
    return value


def _cron6(value: str) -> str:
    if len(value.split()) != 6:
        fail('must be a 6-field cron expression with a leading seconds field, e.g. "0 0 8 * * *"')
    return value


def _int_or_percent(value: Any, handler: Any) -> Any:
    """An instance count or a share of `instance`; checked here, the inner type only feeds the JSON schema."""
    if type(value) is int and 0 <= value <= INT_MAX:
        return value
    if type(value) is str and _PERCENT_RE.fullmatch(value):
        return value
    fail('must be an integer of at least 0 or a percentage such as "25%"')


# --- leaf types ---------------------------------------------------------------------------------

Text = Annotated[str, Field(min_length=1), _msg("must be a non-empty string")]
Name = Annotated[str, Field(pattern=NAME_PATTERN), _msg(NAME_RULE)]
Port = Annotated[
    int,
    Field(ge=1, le=65535, json_schema_extra={"not": {"enum": list(RESERVED_PORTS)}}),
    _msg("must be an integer between 1 and 65535"),
    AfterValidator(_port_not_reserved),
]
ProbePort = _int(1, 65535)
Image = Annotated[
    str, _msg(IMAGE_RULE), AfterValidator(_image_reference), Field(json_schema_extra={"pattern": IMAGE_PATTERN})
]
EnvName = Annotated[
    str,
    Field(pattern=ENV_NAME_PATTERN),
    _msg("must be a variable name: letters, digits and underscores, not starting with a digit"),
]
DockerAuth = Annotated[str, _msg("must be a string: base64 of 'user:password'"), AfterValidator(_docker_auth)]
Token = Annotated[str, _msg("must be a string"), AfterValidator(_token)]
AbsPath = Annotated[str, _msg("must be a string: an absolute path"), AfterValidator(_absolute_path)]
MountPath = Annotated[str, _msg("must be a string: an absolute path"), AfterValidator(_mount_path)]
OssPath = Annotated[str, _msg("must be a string: an OSS path like oss://bucket/dir/"), AfterValidator(_oss_path)]
HttpsUrl = Annotated[str, _msg("must be a string: an https:// URL"), AfterValidator(_https_url)]
Cron6 = Annotated[str, _msg("must be a string: a 6-field cron expression"), AfterValidator(_cron6)]
IntOrPercent = Annotated[
    Annotated[int, Field(ge=0)] | Annotated[str, Field(pattern=_PERCENT_PATTERN)], WrapValidator(_int_or_percent)
]
# A positive number; int first so that 10 stays 10 (a float type would dump 10.0).
PositiveNumber = Annotated[
    Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0)], _msg("must be a number greater than 0")
]
JsonObject = dict[str, JsonValue]


class _Model(BaseModel):
    """Base of every typed object in the config."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    # Other names accepted for keys of this object (moved to their canonical place
    # before validation); listed so that unknown-key suggestions and the JSON schema know them.
    berth_aliases: ClassVar[tuple[str, ...]] = ()


# --- containers ---------------------------------------------------------------------------------


class EnvVar(_Model):
    name: EnvName = req("Variable name.")
    value: str = req("Variable value, a string (quote numbers).")


class Prepare(_Model):
    pythonRequirements: list[Text] = opt('pip packages installed before start, e.g. ["numpy==1.26.4"].')
    pythonRequirementsPath: Text = opt("Path of a requirements.txt inside the container, e.g. on a mounted volume.")


class TcpSocket(_Model):
    port: ProbePort = opt("Port to connect to; default: the container's port.")


class HttpGet(_Model):
    path: AbsPath = req("Probe path, e.g. /health. A 2xx or 3xx response passes.")
    port: ProbePort = opt("Probe port; default: the container's port.")
    scheme: Annotated[Literal["HTTP", "HTTPS"], _msg('must be "HTTP" or "HTTPS"')] = opt("HTTP or HTTPS.")


class Exec(_Model):
    command: list[str] = req("Command run inside the container; exit code 0 passes.", min_length=1)


class Probe(_Model):
    """A Kubernetes-style probe: exactly one of tcp_socket, http_get, exec, plus timings."""

    tcp_socket: TcpSocket = opt("Pass when a TCP connection succeeds.")
    http_get: HttpGet = opt("Pass on a 2xx/3xx response.")
    exec: Exec = opt("Pass when the command exits with 0.")
    initial_delay_seconds: _int(0) = opt("Delay before the first probe (guide default 3).")
    period_seconds: _int(1) = opt("Probe interval (guide default 3).")
    timeout_seconds: _int(1) = opt("Probe timeout (default 1).")
    success_threshold: _int(1) = opt("Consecutive successes needed (default 1).")
    failure_threshold: _int(1) = opt("Consecutive failures before the instance is unready or restarted (default 3).")


class Container(_Model):
    berth_aliases: ClassVar[tuple[str, ...]] = ("readiness_check",)

    image: Image = req("Image reference, e.g. registry.example.com/team/app:1.0.")
    env: list[EnvVar] = opt("Environment variables: [{name, value}].")
    command: Text = opt("Entry command: a single command, no shell features. Give command or script.")
    script: Text = opt("Shell script, lines separated by newlines or ';'. Give command or script.")
    args: list[str] = opt("Arguments.")
    port: Port = opt(
        "Port the server listens on; it receives the gateway's traffic. Not 8080 or 9090 (reserved)."
        " Exactly one container sets it."
    )
    prepare: Prepare = opt("Steps before start: pip requirements.")
    health_check: Probe = opt("Readiness probe (alias readiness_check). Default: TCP check on port.")
    liveness_check: Probe = opt("Liveness probe: the container restarts when it fails.")
    startup_check: Probe = opt("Startup probe: other probes wait until it passes.")
    resources: JsonObject = opt("Per-container share of the instance's resources (multi-container instances).")


# --- storage ------------------------------------------------------------------------------------


class OssMount(_Model):
    path: OssPath = req("OSS path, oss://bucket/dir/.")
    readOnly: bool = opt("Mount read-only (default false).")
    endpoint: Text = opt("OSS endpoint.")


class NfsMount(_Model):
    server: Text = req("NFS/NAS server (mount-target domain).")
    path: AbsPath = req("Remote directory.")
    readOnly: bool = opt("Mount read-only (default false).")
    resourceGroup: Text = opt("Resource group of some NAS/CPFS types.")


class GitMount(_Model):
    repo: HttpsUrl = req("Repository URL, HTTPS only. Cloned read-only at instance start.")
    branch: Text = opt("Branch (default master).")
    commit: Text = opt("Commit to check out.")
    username: Text = opt("User name for a private repository.")
    password: Text = opt("Password or access token for a private repository. Secret.")


class ImageMount(_Model):
    image: Image = req("Image to copy the directory from (pulled with the service's credentials).")
    path: AbsPath = req("Directory inside that image.")


class EmptyDirMount(_Model):
    medium: Annotated[Literal["", "memory"], _msg('must be "memory" (RAM-backed) or "" (disk)')] = opt(
        'Storage medium: "memory" for RAM (with mount_path /dev/shm: shared memory) or "" for disk.'
    )
    size_limit: _int(1) = opt("Size limit in GB.")


ObjectStoreName = Annotated[
    str,
    Field(min_length=1, max_length=63),
    _msg("must be the name of a saved object-store connection, 1 to 63 characters"),
]


class StorageBerth(_Model):
    """Berth's extensions of one mount: a host path (instead of an EAS type), or the object store of an oss mount."""

    host_path: AbsPath = opt(
        "Bind-mount this directory of the Docker host (instead of an EAS mount type). Only under the roots an "
        "administrator allowed in BERTH_HOST_PATH_ROOTS; never the Docker socket."
    )
    readOnly: bool = opt("Mount the host path read-only (default false).")
    object_store: ObjectStoreName = opt(
        "For an oss mount: the workspace's object-store connection to use (default: berth.object_store, "
        "then the workspace's default connection)."
    )


class Storage(_Model):
    """One mount: mount_path plus exactly one of the mount types (or berth.host_path)."""

    mount_path: MountPath = req("Absolute path inside the containers.")
    oss: OssMount = opt("Mount an OSS bucket path.")
    nfs: NfsMount = opt("Mount an NFS/NAS directory.")
    git: GitMount = opt("Clone a git repository (HTTPS) at instance start, read-only.")
    image: ImageMount = opt("Copy a directory out of another image at start-up.")
    empty_dir: EmptyDirMount = opt('Scratch space; {"medium": "memory"} at /dev/shm is shared memory.')
    dataset: JsonObject = opt("Mount a PAI dataset: {id, version, read_only}.")
    code: JsonObject = opt("Mount a PAI code set: {id}.")
    properties: JsonObject = opt('Console hint, e.g. {"resource_type": "model"}. Kept, not interpreted.')
    berth: StorageBerth = opt("Berth's extensions: host_path (+ readOnly), or object_store for an oss mount.")


STORAGE_TYPES = ("oss", "nfs", "git", "image", "empty_dir", "dataset", "code")


# --- metadata -----------------------------------------------------------------------------------


class Rpc(_Model):
    keepalive: _int(1) = opt("Maximum processing time per request, in ms; slower requests get 408.")
    batching: bool = opt("Server-side batching (built-in processors).")
    io_threads: _int(1) = opt("Network I/O threads per instance (default 4).")
    worker_threads: _int(1) = opt("Concurrent requests per instance (default 5); the rest queue.")
    max_queue_size: _int(1) = opt("Per-instance queue length (default 64); when full, 450.")
    max_batch_size: _int(1) = opt("Batch size when batching (default 16).")
    max_batch_timeout: _int(0) = opt("Batch window in ms (default 50).")
    rate_limit: _int(0) = opt("Per-instance QPS limit; 0 = off. Excess requests get 429.")
    enable_sigterm: bool = opt("Send SIGTERM to the container when an instance terminates (graceful exit).")
    proxy_path: Text = opt("Path the sidecar forwards to.")
    enable_jemalloc: JsonValue = opt("Seen in real configs.")
    mirror: JsonValue = opt("Traffic mirroring.")
    enable_service_hang_detect: JsonValue = opt("Hang detection.")
    service_hang_detect_period: JsonValue = opt("Hang detection period.")
    decompressor: JsonValue = opt("Request decompression.")
    disable_auto_queue_watch: JsonValue = opt("Queue-service watch.")
    health_check_path: JsonValue = opt("Sidecar health-check path.")
    health_check_port: JsonValue = opt("Sidecar health-check port.")
    retries: JsonValue = opt("Sidecar retries.")


class RollingStrategy(_Model):
    max_surge: IntOrPercent = opt('Extra instances during a rolling update: an integer or "N%" (default 2%).')
    max_unavailable: IntOrPercent = opt('Instances that may be unavailable during an update: integer or "N%".')


class EasOptions(_Model):
    termination_grace_period: _int(0) = opt("Seconds between removing an instance from traffic and killing it (30).")
    handlers: JsonValue = opt("Failure handlers.")
    enabled_model_verification: JsonValue = opt("Model verification.")


class Spread(_Model):
    policy: Annotated[Literal["host", "zone", "default"], _msg('must be "host", "zone" or "default"')] = opt(
        "Spread instances across hosts or zones; default = no preference."
    )


class Scheduling(_Model):
    spread: Spread = opt("Spread policy.")
    policy: JsonValue = opt("Scheduling policy.")
    topology_key: JsonValue = opt("Topology key.")
    enable_cpuset: JsonValue = opt("CPU pinning.")
    priority: JsonValue = opt("Scheduling priority.")
    pack: JsonValue = opt("Bin packing.")
    node_affinity: JsonValue = opt("Node affinity.")


class Metadata(_Model):
    berth_aliases: ClassVar[tuple[str, ...]] = ("name", "autoscaler")

    instance: _int(0) = req("Number of instances (replicas). Changing only this is a scale, not a new version.")
    cpu: _int(1) = opt("CPU cores per instance.")
    memory: _int(1) = opt("Memory per instance, in MB.")
    gpu: _int(0) = opt("GPUs per instance.")
    gpu_memory: _int(1) = opt("GPU memory per instance in GB, for GPU sharing.")
    gpu_core_percentage: _int(1, 100) = opt("Share of GPU compute, 1–100; needs gpu_memory.")
    qos: Annotated[Literal["", "BestEffort", "Guaranteed"], _msg('must be "", "BestEffort" or "Guaranteed"')] = opt(
        "BestEffort = CPU sharing: cpu is not a hard reservation."
    )
    shm_size: _int(1) = opt("Size of /dev/shm in GB.")
    enable_grpc: bool = opt("The gateway speaks gRPC to the container (default false).")
    enable_webservice: bool = opt("Deploy as a web app (default false).")
    type: Text = opt("Special service type, e.g. Async, LLMGatewayService.")
    rpc: Rpc = opt('Request handling in the sidecar. Also written as dotted keys, e.g. "rpc.keepalive".')
    rolling_strategy: RollingStrategy = opt("Rolling-update batch sizes.")
    eas: EasOptions = opt('EAS options, usually written "eas.termination_grace_period".')
    scheduling: Scheduling = opt("Instance placement.")
    workspace_id: Text = opt("PAI workspace that owns the service.")
    resource: Text = opt("Dedicated resource group (eas-r-…).")
    resource_burstable: bool = opt("Burst from a dedicated group onto public resources.")
    cuda: Text = opt("CUDA version installed at /usr/local/cuda.")
    rdma: JsonValue = opt("1 enables RDMA (Lingjun resources).")
    disk: JsonValue = opt('Extra system disk, e.g. "30Gi".')
    group: Text = opt("Service group to join.")
    role: Text = opt("Role inside a group.")
    release: bool = opt("Blue-green release flag.")
    traffic_state: Text = opt("standalone or grouping.")
    gateway: JsonValue = opt("Legacy gateway binding.")
    workload_type: JsonValue = opt("elasticjob = run as a job.")
    elastic_job: JsonValue = opt("Elastic job settings.")
    resource_rebalancing: JsonValue = opt("Move instances back to preferred resources.")
    quota_id: JsonValue = opt("Lingjun quota.")
    quota_type: JsonValue = opt("Lingjun quota type.")
    gpu_model: JsonValue = opt("GPU model selector.")
    npu: JsonValue = opt("NPU selector.")
    fpga: JsonValue = opt("FPGA selector.")
    disable_sidecar: JsonValue = opt("Do not inject the EAS sidecar.")
    region: JsonValue = opt("Internal.")
    schema_: JsonValue = opt("Internal.", alias="schema")


# --- scaling, networking, runtime, Berth -------------------------------------------------------


class ScaleStrategy(_Model):
    metricName: Text = req("Metric: qps, cpu, gpu[util], queue[backlog], custom[...].")
    threshold: PositiveNumber = req("Target value per instance.")
    service: Text = opt("Service the metric belongs to; this service if left out.")


class Stabilization(_Model):
    stabilizationWindowSeconds: _int(0) = opt("Stabilisation window in seconds.")


class OnZero(_Model):
    scaleDownGracePeriodSeconds: _int(0) = opt("Idle time before scaling to zero (600).")
    scaleUpActivationReplicas: _int(1) = opt("Instances started when waking from zero (1).")
    interceptTraffic: bool = opt("Hold requests while at zero.")


class Behavior(_Model):
    scaleUp: Stabilization = opt("Scale-out behaviour.")
    scaleDown: Stabilization = opt("Scale-in behaviour.")
    onZero: OnZero = opt("Scale-to-zero behaviour (min 0).")


class Autoscaler(_Model):
    """Horizontal autoscaling. The OpenAPI form scaleStrategies[] is canonicalised to strategies{}."""

    min: _int(0, 3000) = req("Minimum instances (0 = scale to zero).")
    max: _int(1, 3000) = req("Maximum instances, at most 3000.")
    strategies: dict[str, PositiveNumber] = opt('Metric → target per instance, e.g. {"qps": 10, "cpu": 80}.')
    scaleStrategies: list[ScaleStrategy] = opt("OpenAPI form of strategies: [{metricName, threshold}].")
    behavior: Behavior = opt("Stabilisation windows and scale-to-zero (OpenAPI form).")

    @model_serializer(mode="wrap")
    def _strategies_as_map(self, handler: Any) -> dict:
        # One canonical form: [{metricName, threshold}] becomes {metricName: threshold}.
        # `service` is dropped: the spec rules accept only this service's own name there.
        data = handler(self)
        listed = data.pop("scaleStrategies", None)
        if listed is None:
            return data
        data["strategies"] = {**data.get("strategies", {}), **{s["metricName"]: s["threshold"] for s in listed}}
        return {key: data[key] for key in ("min", "max", "strategies", "behavior") if key in data}


class ScaleJob(_Model):
    Name: Text = req("Job name.")
    Schedule: Cron6 = req('6-field cron with seconds, e.g. "0 0 8 * * *".')
    TargetSize: _int(0) = req("Instance count to set.")
    TimeZone: Text = opt("IANA time zone, e.g. Asia/Shanghai.")


class Cronscaler(_Model):
    ScaleJobs: list[ScaleJob] = opt("Scheduled instance counts.")
    ExcludeDates: list[Text] = opt("Cron expressions for dates on which no job runs.")


class Limit(_Model):
    enable: bool = opt("Turn the limit on.")
    limit: _int(0) = opt("The limit.")


class GatewayPolicy(_Model):
    rate_limit: Limit = opt("Gateway QPS limit for this service.")
    concurrency_limit: Limit = opt("Gateway concurrent-request limit for this service.")


class Networking(_Model):
    gateway: Text = opt("Dedicated gateway ID.")
    gateway_policy: GatewayPolicy = opt("Gateway-level rate and concurrency limits.")
    nlb: JsonValue = opt("Network Load Balancer listeners.")
    nacos: JsonValue = opt("Nacos service discovery.")
    traffic_state: JsonValue = opt("standalone or grouping.")
    path: JsonValue = opt("Custom path.")
    port_exposure: JsonValue = opt("Extra ports.")
    enable_https: JsonValue = opt("TLS to the backend.")
    enable_http2: JsonValue = opt("HTTP/2 to the backend.")
    enable_grpc: JsonValue = opt("gRPC to the backend.")
    dns: JsonValue = opt("DNS settings.")
    restriction_model: JsonValue = opt("IP allowlist model.")
    restriction_rules: JsonValue = opt("IP allowlist rules.")
    disable_internet_endpoint: JsonValue = opt("Turn off the public endpoint.")
    use_host_network: JsonValue = opt("Host networking.")


class Runtime(_Model):
    berth_aliases: ClassVar[tuple[str, ...]] = ("termination_grace_period",)

    enable_crash_block: bool = opt("Do not restart an instance that crashed, so it can be debugged (default false).")
    cuda: JsonValue = opt("CUDA version.")
    base_image: JsonValue = opt("Base image.")
    worker_image: JsonValue = opt("Worker image.")
    core_pattern: JsonValue = opt("Core dump pattern.")
    disable_image_accelerate: JsonValue = opt("Image acceleration.")
    disable_image_cache: JsonValue = opt("Image cache.")


CredentialName = Annotated[
    str, Field(min_length=1, max_length=63), _msg("must be the name of a saved registry credential, 1 to 63 characters")
]


class BerthOptions(_Model):
    """Berth's own extensions. Keys ending in password/secret/secret_key/access_key are secrets."""

    registry_credential: CredentialName = opt("Name of a saved registry credential used to pull the images.")
    object_store: ObjectStoreName = opt(
        "Name of the workspace's object-store connection for oss mounts (default: the workspace's default connection)."
    )


class ServiceSpec(_Model):
    """One service config in canonical form. See deployments.spec for the rules around it."""

    name: Name = req("Service name: " + NAME_RULE + ". Also accepted as metadata.name.")
    token: Token = opt("Access token sent in the Authorization header; generated if left out. Secret.")
    dockerAuth: DockerAuth = opt("base64 of user:password for a private registry. Secret.")
    containers: list[Container] = req("The containers of one instance; exactly one sets port.", min_length=1)
    storage: list[Storage] = opt("Volume mounts.")
    metadata: Metadata = req("Instances, resources, request handling, rollout.")
    autoscaler: Autoscaler = opt('Horizontal autoscaling, e.g. {"min": 1, "max": 5, "strategies": {"qps": 10}}.')
    cronscaler: Cronscaler = opt("Scheduled scaling.")
    networking: Networking = opt("Gateway settings.")
    labels: dict[str, str] = opt("Service labels, a string map.")
    features: dict[str, str] = opt('Feature switches, e.g. {"eas.aliyun.com/extra-ephemeral-storage": "100Gi"}.')
    runtime: Runtime = opt("Runtime options.")
    cloud: JsonObject = opt("ECS instance types, spot, VPC.")
    sinker: JsonObject = opt("Persist requests and responses to MaxCompute or SLS.")
    confidential: JsonObject = opt("Confidential inference: trustee_endpoint, decryption_key.")
    unit: JsonObject = opt("Machines per instance for multi-machine inference.")
    aimaster: JsonObject = opt("Fault tolerance for multi-machine inference.")
    options: JsonObject = opt("Platform options.")
    metrics: JsonValue = opt("Custom metrics.")
    metrics_config: JsonValue = opt("Custom metrics scraping.")
    alerts: JsonValue = opt("Alert rules.")
    generate_token: JsonValue = opt("Generate a token.")
    osscredentials: JsonValue = opt("OSS credentials.")
    role_arn: JsonValue = opt("RAM role for instances.")
    processor: JsonValue = opt("Processor mode: built-in processor name.")
    processor_type: JsonValue = opt("Processor mode: cpp, java or python.")
    processor_path: JsonValue = opt("Processor mode: package of a custom processor.")
    processor_entry: JsonValue = opt("Processor mode: entry file.")
    processor_mainclass: JsonValue = opt("Processor mode: Java main class.")
    processor_name: JsonValue = opt("Processor mode.")
    processor_jvm_options: JsonValue = opt("Processor mode.")
    processor_envs: JsonValue = opt("Processor mode.")
    processor_image: JsonValue = opt("Processor mode.")
    processors: JsonValue = opt("Processor mode.")
    model_path: JsonValue = opt("Processor mode: model package.")
    oss_endpoint: JsonValue = opt("Processor mode: OSS endpoint for model_path.")
    model_entry: JsonValue = opt("Processor mode: entry file in the model package.")
    model_config_: JsonValue = opt("Processor mode: model config.", alias="model_config")
    warm_up_data_path: JsonValue = opt("Processor mode: warm-up requests.")
    requirements: JsonValue = opt("Processor mode.")
    model: JsonValue = opt("Processor mode.")
    models: JsonValue = opt("Processor mode.")
    multi_models: JsonValue = opt("Processor mode.")
    uncompress: JsonValue = opt("Processor mode.")
    source: JsonValue = opt("Processor mode.")
    data_image: JsonValue = opt("Specialised service type.")
    members: JsonValue = opt("Aggregated service members.")
    tasks: JsonValue = opt("Offline tasks.")
    raycluster: JsonValue = opt("Ray cluster.")
    rai: JsonValue = opt("Specialised service type.")
    serverless: JsonValue = opt("Serverless settings.")
    berth: BerthOptions = opt("Berth's own extensions.")

    def canonical(self) -> dict:
        """The canonical config: aliases, key order as declared, absent keys absent."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
