"""metadata: instances, resources, request handling (rpc), rollout and placement."""

from typing import Annotated, ClassVar, Literal

from pydantic import JsonValue

from deployments.spec.model.base import MAX_INSTANCES, SpecModel, bounded_int, opt, req, with_message
from deployments.spec.model.leaves import IntOrPercent, Text


class Rpc(SpecModel):
    keepalive: bounded_int(1) = opt("Maximum processing time per request, in ms; slower requests get 408.")
    batching: bool = opt("Server-side batching (built-in processors).")
    io_threads: bounded_int(1) = opt("Network I/O threads per instance (default 4).")
    worker_threads: bounded_int(1) = opt("Concurrent requests per instance (default 5); the rest queue.")
    max_queue_size: bounded_int(1) = opt("Per-instance queue length (default 64); when full, 450.")
    max_batch_size: bounded_int(1) = opt("Batch size when batching (default 16).")
    max_batch_timeout: bounded_int(0) = opt("Batch window in ms (default 50).")
    rate_limit: bounded_int(0) = opt("Per-instance QPS limit; 0 = off. Excess requests get 429.")
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


class RollingStrategy(SpecModel):
    max_surge: IntOrPercent = opt('Extra instances during a rolling update: an integer or "N%" (default 2%).')
    max_unavailable: IntOrPercent = opt('Instances that may be unavailable during an update: integer or "N%".')


class EasOptions(SpecModel):
    termination_grace_period: bounded_int(0) = opt(
        "Seconds between removing an instance from traffic and killing it (30)."
    )
    handlers: JsonValue = opt("Failure handlers.")
    enabled_model_verification: JsonValue = opt("Model verification.")


class Spread(SpecModel):
    policy: Annotated[Literal["host", "zone", "default"], with_message('must be "host", "zone" or "default"')] = opt(
        "Spread instances across hosts or zones; default = no preference."
    )


class Scheduling(SpecModel):
    spread: Spread = opt("Spread policy.")
    policy: JsonValue = opt("Scheduling policy.")
    topology_key: JsonValue = opt("Topology key.")
    enable_cpuset: JsonValue = opt("CPU pinning.")
    priority: JsonValue = opt("Scheduling priority.")
    pack: JsonValue = opt("Bin packing.")
    node_affinity: JsonValue = opt("Node affinity.")


class Metadata(SpecModel):
    berth_aliases: ClassVar[tuple[str, ...]] = ("name", "autoscaler")

    instance: bounded_int(0, MAX_INSTANCES) = req(
        "Number of instances (replicas). Changing only this is a scale, not a new version."
    )
    cpu: bounded_int(1) = opt("CPU cores per instance.")
    memory: bounded_int(1) = opt("Memory per instance, in MB.")
    gpu: bounded_int(0) = opt("GPUs per instance.")
    gpu_memory: bounded_int(1) = opt("GPU memory per instance in GB, for GPU sharing.")
    gpu_core_percentage: bounded_int(1, 100) = opt("Share of GPU compute, 1–100; needs gpu_memory.")
    qos: Annotated[
        Literal["", "BestEffort", "Guaranteed"], with_message('must be "", "BestEffort" or "Guaranteed"')
    ] = opt("BestEffort = CPU sharing: cpu is not a hard reservation.")
    shm_size: bounded_int(1) = opt("Size of /dev/shm in GB.")
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
