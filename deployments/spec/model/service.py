"""The whole config (`ServiceSpec`) and its smaller top-level sections: scaling, networking, runtime, berth."""

from typing import Annotated, Any, ClassVar

from pydantic import Field, JsonValue, model_serializer

from deployments.spec.model.build import BuildOptions
from deployments.spec.model.base import NAME_RULE, SpecModel, bounded_int, opt, req, with_message
from deployments.spec.model.containers import Container
from deployments.spec.model.leaves import (
    Cron6,
    DockerAuth,
    JsonObject,
    Name,
    ObjectStoreName,
    PositiveNumber,
    Text,
    Token,
)
from deployments.spec.model.metadata import Metadata
from deployments.spec.model.storage import Storage

# --- scaling, networking, runtime, Berth -------------------------------------------------------


class ScaleStrategy(SpecModel):
    metricName: Text = req("Metric: qps, cpu, gpu[util], queue[backlog], custom[...].")
    threshold: PositiveNumber = req("Target value per instance.")
    service: Text = opt("Service the metric belongs to; this service if left out.")


class Stabilization(SpecModel):
    stabilizationWindowSeconds: bounded_int(0) = opt("Stabilisation window in seconds.")


class OnZero(SpecModel):
    scaleDownGracePeriodSeconds: bounded_int(0) = opt("Idle time before scaling to zero (600).")
    scaleUpActivationReplicas: bounded_int(1) = opt("Instances started when waking from zero (1).")
    interceptTraffic: bool = opt("Hold requests while at zero.")


class Behavior(SpecModel):
    scaleUp: Stabilization = opt("Scale-out behaviour.")
    scaleDown: Stabilization = opt("Scale-in behaviour.")
    onZero: OnZero = opt("Scale-to-zero behaviour (min 0).")


class Autoscaler(SpecModel):
    """Horizontal autoscaling. The OpenAPI form scaleStrategies[] is canonicalised to strategies{}."""

    min: bounded_int(0, 3000) = req("Minimum instances (0 = scale to zero).")
    max: bounded_int(1, 3000) = req("Maximum instances, at most 3000.")
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


class ScaleJob(SpecModel):
    Name: Text = req("Job name.")
    Schedule: Cron6 = req('6-field cron with seconds, e.g. "0 0 8 * * *".')
    TargetSize: bounded_int(0) = req("Instance count to set.")
    TimeZone: Text = opt("IANA time zone, e.g. Asia/Shanghai.")


class Cronscaler(SpecModel):
    ScaleJobs: list[ScaleJob] = opt("Scheduled instance counts.")
    ExcludeDates: list[Text] = opt("Cron expressions for dates on which no job runs.")


class Limit(SpecModel):
    enable: bool = opt("Turn the limit on.")
    limit: bounded_int(0) = opt("The limit.")


class GatewayPolicy(SpecModel):
    rate_limit: Limit = opt("Gateway QPS limit for this service.")
    concurrency_limit: Limit = opt("Gateway concurrent-request limit for this service.")


class Networking(SpecModel):
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


class Runtime(SpecModel):
    berth_aliases: ClassVar[tuple[str, ...]] = ("termination_grace_period",)

    enable_crash_block: bool = opt("Do not restart an instance that crashed, so it can be debugged (default false).")
    cuda: JsonValue = opt("CUDA version.")
    base_image: JsonValue = opt("Base image.")
    worker_image: JsonValue = opt("Worker image.")
    core_pattern: JsonValue = opt("Core dump pattern.")
    disable_image_accelerate: JsonValue = opt("Image acceleration.")
    disable_image_cache: JsonValue = opt("Image cache.")


CredentialName = Annotated[
    str,
    Field(min_length=1, max_length=63),
    with_message("must be the name of a saved registry credential, 1 to 63 characters"),
]


class BerthOptions(SpecModel):
    """Berth's own extensions. Keys ending in password/secret/secret_key/access_key are secrets."""

    registry_credential: CredentialName = opt("Name of a saved registry credential used to pull the images.")
    object_store: ObjectStoreName = opt(
        "Name of the workspace's object-store connection for oss mounts (default: the workspace's default connection)."
    )
    build: BuildOptions = opt("Deploy from code: build the main container's image from a base image and git code.")


class ServiceSpec(SpecModel):
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
