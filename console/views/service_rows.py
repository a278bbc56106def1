"""The service list's columns, as EAS's list: image, endpoint, cpu/memory and instances per version,
read for one page of services with a fixed number of queries.
"""

from deployments import selectors
from deployments.engine import progress
from deployments.models import Service, ServiceVersion


def _resources(config: dict) -> str:
    metadata = config.get("metadata") or {}
    cpu, memory = metadata.get("cpu"), metadata.get("memory")
    parts = []
    if cpu:
        parts.append(f"{cpu} CPU")
    if memory:
        parts.append(f"{memory} MB")
    return " · ".join(parts) or "–"


def service_rows(services: list[Service]) -> list[dict]:
    """[{service, image, endpoint, resources, counts}] in the order given; `counts` is
    `v1 ready 2 · v2 pending 1` (progress.counts_line) from the prefetched instances."""
    version_ids = {i.version_id for s in services for i in s.instances.all()}
    numbers = dict(ServiceVersion.objects.filter(pk__in=version_ids).values_list("pk", "number"))
    rows = []
    for service in services:
        config = service.current_version.config if service.current_version_id else {}
        containers = config.get("containers") or [{}]
        by_version: dict[int, dict] = {}
        for instance in service.instances.all():
            number = numbers.get(instance.version_id, 0)
            row = by_version.setdefault(number, {"version": number, "ready": 0, "pending": 0})
            row["ready" if instance.ready else "pending"] += 1
        rows.append(
            {
                "service": service,
                "image": containers[0].get("image", ""),
                "endpoint": selectors.service_endpoints(service=service)["internet"],
                "resources": _resources(config),
                "counts": progress.counts_line(list(by_version.values())) or "no instances",
            }
        )
    return rows
