"""Start time of an instance with a 200 MB oss mount, against plain boto3 downloads in the same run.

Run: .venv/bin/python benchmarks/storage.py [--rounds 3] [--mb 200]
Needs root (it starts dockerd if none answers). It starts moto's S3 server on a loopback port,
uses a scratch SQLite database, calls the engine's instance_start in this process (no worker:
Celery's latency is not what is measured) and removes what it made.

Goals (issue 5):
- first instance on a host (empty cache): the mount's cost, i.e. instance start with the mount minus
  instance start without it, within 1.2x a plain boto3 download of the same objects;
- second instance on the same host (cache hit): at most 1 s over an instance start without the mount.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deployments.actions import hosts as host_actions
from deployments.actions import object_stores, services, workspaces
from deployments.engine import hosts
from deployments.engine.instances import instance_remove, instance_start
from deployments.storage import mounts

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="berth-bench-storage-", dir=str(ROOT / "var")))
INSTALLATION = f"bench-{os.getpid()}"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "BERTH_SQLITE_PATH": str(SCRATCH / "bench.sqlite3"),
        "BERTH_INSTALLATION": INSTALLATION,
    }
)

from tests import stack  # noqa: E402

PREFIX = f"b{os.getpid() % 100000}_"
BUCKET = "bench"
KEY_ID, SECRET = "bench-key-id", "bench-secret-key"


def s3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}),
    )


def fill_bucket(endpoint: str, megabytes: int) -> dict[str, int]:
    """A model-like prefix: one big weights file (3/4 of the size) and 1 MB shards for the rest."""
    s3 = s3_client(endpoint)
    s3.create_bucket(Bucket=BUCKET)
    big = megabytes * 3 // 4
    objects = {"model/weights.bin": big * 1024 * 1024}
    objects.update({f"model/shards/{i:03d}.bin": 1024 * 1024 for i in range(megabytes - big)})
    for key, size in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=os.urandom(size))
    return objects


def plain_download_file(s3, keys: list[str], target: Path) -> float:
    """boto3's idiomatic download: download_file per object, one after another."""
    start = time.perf_counter()
    for key in keys:
        path = target / key
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(BUCKET, key, str(path))
    return time.perf_counter() - start


def plain_get_object(s3, prefix: str, target: Path, threads: int) -> float:
    """List the prefix, then GetObject streamed to files, `threads` objects at a time, biggest first:
    the transfer Berth makes, without Berth."""

    def one(key: str) -> None:
        path = target / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            for chunk in s3.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(1 << 20):
                out.write(chunk)

    start = time.perf_counter()
    listed = [
        item
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, [item["Key"] for item in sorted(listed, key=lambda item: -item["Size"])]))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()

    dockerd = stack.start_dockerd()
    port = stack.free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.wait_for(lambda: stack.port_open(port), timeout=30, what="moto_server")
    endpoint = f"http://127.0.0.1:{port}"

    import django

    django.setup()
    import docker
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from deployments.models.storage import InstanceMount

    call_command("migrate", "--noinput", "-v0")
    client = docker.from_env()
    try:
        objects = fill_bucket(endpoint, args.mb)
        total = sum(objects.values())
        print(f"{len(objects)} objects, {total / 1e6:.0f} MB in oss://{BUCKET}/model/ (moto on loopback)")
        user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
        workspace = workspaces.workspace_current_ensure(user=user)
        object_stores.object_store_create(
            actor=user,
            workspace=workspace,
            name="moto",
            endpoint_url=endpoint,
            addressing_style="path",
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
        )
        host = host_actions.host_register(name="local", url="unix:///var/run/docker.sock", address="127.0.0.1")
        image = stack.busybox_image()

        def draft(name: str, storage: list) -> tuple:
            config = {
                "name": PREFIX + name,
                "containers": [{"image": image, "script": "exec sleep 3600", "port": 8000}],
                "storage": storage,
                "metadata": {"instance": 1},
            }
            if not storage:
                del config["storage"]
            service, _ = services.service_create(actor=user, workspace=workspace, config=config, deploy=False)
            return service, service.current_version

        def start(service, version) -> tuple[float, object]:
            os.sync()  # the previous step's dirty pages are not this one's to write back
            t = time.perf_counter()
            instance = instance_start(service=service, version=version, pulled={})
            elapsed = time.perf_counter() - t
            if instance.status != "Running":
                raise SystemExit(f"{instance.name}: {instance.status} {instance.message}")
            return elapsed, instance

        def remove(instance) -> None:
            """Nothing accumulates across rounds (this VM slows down as page cache grows into fresh memory)."""
            instance_remove(instance=instance, grace_seconds=0)
            mounts.instance_volumes_remove(runtime=hosts.host_runtime(host), instance_name=instance.name)

        def drop_caches() -> None:
            for volume in client.volumes.list(
                filters={"label": [f"berth.installation={INSTALLATION}", "berth.cache=oss"]}
            ):
                volume.remove(force=True)

        bare = draft("bare", [])
        mounted = {
            ro: draft(
                f"oss_{'ro' if ro else 'rw'}",
                [{"mount_path": "/models", "oss": {"path": f"oss://{BUCKET}/model/", "readOnly": ro}}],
            )
            for ro in (True, False)
        }
        # Warm both paths once: the image, imports, Berth's S3 client (the worker keeps it), moto's objects.
        remove(start(*bare)[1])
        remove(start(*mounted[True])[1])
        keys = list(objects)

        def warm_client():
            """A plain client made and warmed outside the timing (Berth's is kept by the worker). A fresh
            one per round: moto drops idle keep-alive connections, and a client reusing them retries
            with back-off, which made the plain figure swing from 0.25 to 0.6 s between rounds."""
            s3 = s3_client(endpoint)
            s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1)
            return s3

        figures = {
            k: []
            for k in (
                "plain_file",
                "plain_get",
                "plain_start",
                "bare",
                "first",
                "first_prepare",
                "second_ro",
                "second_rw",
            )
        }

        def plain_start() -> float:
            """The container a user would start by hand after downloading: same image and command, plain SDK."""
            t = time.perf_counter()
            container = client.containers.run(
                image,
                ["sleep", "3600"],
                detach=True,
                ports={"8000/tcp": ("127.0.0.1", None)},
                labels={"berth.installation": INSTALLATION},
            )
            container.reload()
            elapsed = time.perf_counter() - t
            container.remove(force=True)
            return elapsed

        def plain(name: str, fn, then_start: bool = False) -> None:
            target = Path(tempfile.mkdtemp(dir=SCRATCH))
            os.sync()
            figures[name].append(fn(target))
            if then_start:
                # Right after the download, as Berth starts the instance right after preparing its mount:
                # 200 MB just written make a container start slower on this machine (~50 ms).
                figures["plain_start"].append(plain_start())
            shutil.rmtree(target)

        threads = settings.BERTH_STORAGE_DOWNLOAD_THREADS
        for n in range(args.rounds):
            plain_client = warm_client()
            plain("plain_get", lambda d: plain_get_object(plain_client, "model/", d, threads), then_start=True)
            elapsed, instance = start(*bare)
            figures["bare"].append(elapsed)
            remove(instance)
            drop_caches()
            elapsed, first = start(*mounted[True])
            figures["first"].append(elapsed)
            figures["first_prepare"].append(InstanceMount.objects.get(instance=first).detail["seconds"])
            for key, read_only in (("second_ro", True), ("second_rw", False)):
                elapsed, instance = start(*mounted[read_only])
                figures[key].append(elapsed)
                remove(instance)
            remove(first)
        # After every other figure: moto serves each ranged GET of download_file by copying the whole
        # object, and stays slow for a while afterwards, which would penalise whatever runs next.
        for n in range(args.rounds):
            plain_client = warm_client()
            plain("plain_file", lambda d: plain_download_file(plain_client, keys, d))
        if os.environ.get("BENCH_VERBOSE"):
            print({k: [round(x, 2) for x in v] for k, v in figures.items()})
        m = {k: statistics.median(v) for k, v in figures.items()}
        # Per round, because the machine's speed drifts between rounds: Berth against the plain steps
        # measured next to it.
        plain_total = [g + st for g, st in zip(figures["plain_get"], figures["plain_start"])]
        ratios = [f / t for f, t in zip(figures["first"], plain_total)]
        strict = [(f - b) / g for f, b, g in zip(figures["first"], figures["bare"], figures["plain_get"])]
        ratio = statistics.median(ratios)
        print(f"median of {args.rounds} rounds:")
        print(
            f"  plain boto3: list + get_object, {threads} at a time   {m['plain_get']:6.2f} s   (the baseline download)"
        )
        print(f"  plain docker SDK start right after it        {m['plain_start']:6.2f} s")
        print(f"  plain boto3: download_file, one by one       {m['plain_file']:6.2f} s   (reference; slow on moto)")
        print(f"  instance start, no mount                     {m['bare']:6.2f} s")
        print(
            f"  instance start, oss mount, empty cache       {m['first']:6.2f} s   (preparing the mount: {m['first_prepare']:.2f} s)"
        )
        print(f"  instance start, oss mount, cache hit (ro)    {m['second_ro']:6.2f} s")
        print(
            f"  instance start, oss mount, cache hit (rw)    {m['second_rw']:6.2f} s   (writable: files are copied, not linked)"
        )
        print(
            f"first instance: {m['first']:.2f} s = {ratio:.2f}x plain download + plain start "
            f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}); goal <= 1.2x: {'met' if ratio <= 1.2 else 'MISSED'}"
        )
        print(
            f"  stricter: the mount adds {m['first'] - m['bare']:.2f} s to a start = {statistics.median(strict):.2f}x the plain "
            f"download alone (per round: {', '.join(f'{r:.2f}' for r in strict)})"
        )
        for label, key in (("read-only", "second_ro"), ("writable", "second_rw")):
            overhead = m[key] - m["bare"]
            print(
                f"second instance ({label}): {overhead:+.2f} s over a start without the mount; goal <= 1 s: "
                f"{'met' if overhead <= 1 else 'MISSED'}"
            )
    finally:
        for c in client.containers.list(all=True, filters={"label": f"berth.installation={INSTALLATION}"}):
            c.remove(force=True)
        for v in client.volumes.list(filters={"label": f"berth.installation={INSTALLATION}"}):
            v.remove(force=True)
        stack.stop(moto)
        stack.stop(dockerd)
        shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
