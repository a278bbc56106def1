"""Removing a batch of instances in parallel: every stop shares ONE grace period.

Docker's stop sends SIGTERM and waits up to the grace period before SIGKILL. Stopping the
instances of a batch one after another makes a teardown last N x grace (20 instances that
ignore SIGTERM with EAS's 30 s default: 10 minutes); here they stop side by side on a bounded
thread pool, so the batch takes about one grace. Only the Docker calls run on the pool: the
rows are written from the calling thread (one update before, one delete after), so no thread
needs a database connection of its own.
"""

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from django.conf import settings

from deployments.choices import InstanceStatus
from deployments.engine.hosts import host_runtime
from deployments.locks import lock_keepalive
from deployments.models import Instance
from deployments.runtime import LABEL_INSTANCE
from deployments.storage import mounts


def _containers_remove(instance: Instance, grace_seconds: int) -> None:
    """Stop (SIGTERM, SIGKILL after the grace) and remove an instance's containers and volumes."""
    if instance.host is None:
        return
    # A runtime per thread: the docker SDK's client is not documented as safe to share between threads.
    runtime = host_runtime(instance.host)
    for state in runtime.list({LABEL_INSTANCE: instance.name}):
        if state.running:
            runtime.stop(state.id, grace_seconds=grace_seconds)
        runtime.remove(state.id)
    mounts.instance_volumes_remove(runtime=runtime, instance_name=instance.name)


def instances_remove(*, removals: list[tuple[Instance, int]]) -> None:
    """Take every instance of `removals` ((instance, grace seconds) pairs) out of traffic at once,
    stop them in parallel and forget their rows.

    Safe to repeat: an instance whose containers are gone already is simply forgotten. The first
    Docker failure is raised after every other removal finished; the rows of the instances that
    were removed are deleted either way. Renews the caller's service lock while it waits.
    """
    if not removals:
        return
    Instance.objects.filter(pk__in=[i.pk for i, _ in removals]).update(status=InstanceStatus.TERMINATING, ready=False)
    workers = max(1, min(len(removals), settings.BERTH_TEARDOWN_PARALLELISM))
    # The lock expires after BERTH_CONVERGE_LOCK_TIMEOUT: renew it well within that while stops run.
    keepalive_every = max(0.5, settings.BERTH_CONVERGE_LOCK_TIMEOUT / 3)
    removed, failure = [], None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="berth-teardown") as pool:
        pending = {pool.submit(_containers_remove, instance, grace): instance for instance, grace in removals}
        while pending:
            done, _ = wait(pending, timeout=keepalive_every, return_when=FIRST_COMPLETED)
            lock_keepalive()
            for future in done:
                instance = pending.pop(future)
                if future.exception() is None:
                    removed.append(instance.pk)
                elif failure is None:
                    failure = future.exception()
    Instance.objects.filter(pk__in=removed).delete()
    if failure is not None:
        raise failure
