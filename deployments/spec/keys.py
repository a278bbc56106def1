"""Key tables: keys that are valid but that Berth does not act on, and finding them in a config.

Each occurrence of a table key is a warning (`key_warnings`); the JSON schema's
descriptions follow these tables too.
"""

from collections import deque

from deployments.spec.paths import Loc

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
    "metadata.workspace_id", "metadata.resource_burstable", "metadata.cuda", "metadata.rdma",
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
    "autoscaler", "cronscaler",
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


def compile_tables(tables: dict[str, tuple[str, ...]]) -> dict:
    """{label: ("metadata.rpc.batching", "storage[].dataset", ...)} → one trie for `find_keys`.

    "[]" in a path is any list index. A path's end carries its table's label.
    """
    trie: dict = {}
    for label, paths in tables.items():
        for path in paths:
            node = trie
            for part in path.replace("[]", ".[]").split("."):
                node = node.setdefault(part, {})
            node[None] = label
    return trie


def find_keys(data: object, trie: dict) -> list[tuple[Loc, str]]:
    """(location, label) of each table key present in `data`: breadth first, table order within a level."""
    found: list[tuple[Loc, str]] = []
    queue: deque[tuple[object, dict, Loc]] = deque([(data, trie, ())])
    while queue:
        node, branch, loc = queue.popleft()
        if None in branch:
            found.append((loc, branch[None]))
        if isinstance(node, dict):
            for key, sub in branch.items():
                if key is not None and key != "[]" and key in node:
                    queue.append((node[key], sub, (*loc, key)))
        elif isinstance(node, list) and "[]" in branch:
            queue.extend((item, branch["[]"], (*loc, i)) for i, item in enumerate(node))
    return found


def key_warnings(data: object) -> list[tuple[Loc, str]]:
    """(location, sentence) for each table key present in the normalised `data`."""
    return [(loc, _WARNINGS[label].format(key=_key(loc))) for loc, label in find_keys(data, _WARNED_KEYS)]


def _key(loc: Loc) -> str:
    return next(str(part) for part in reversed(loc) if isinstance(part, str))


_WARNED_KEYS = compile_tables({"alibaba": ALIBABA_ONLY_KEYS, "later": NOT_ENFORCED_YET_KEYS})
