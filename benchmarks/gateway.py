"""Gateway speed: direct to a container, through Berth's gateway, and through a minimal HAProxy.

    .venv/bin/python benchmarks/gateway.py [--seconds 8] [--connections 64] [--check]

Five paths to the same container:
- direct: its address on its Docker network (the physical floor);
- published port: 127.0.0.1:<published port>, i.e. through Docker's userland proxy;
- berth gateway: Berth dialling the container address (a local host, DockerHost.reach);
- berth via published port: Berth dialling the published port (how it worked before, and how it
  still works for remote tcp:// hosts);
- minimal haproxy: a hand-written HAProxy config doing the same work towards the container address.

Needs dockerd, haproxy and wrk (apt-get install wrk). Everything runs on loopback and in
one container this script starts (a fast backend: HAProxy answering 200 itself, in a
scratch image built from the host's binary). Berth's gateway runs as `manage.py gateway`
on a throwaway SQLite database whose one service points at that container, exactly as
the controller would see a deployed service; the minimal HAProxy does the same
forwarding (prefix strip, token check) with a hand-written config.

Targets: Berth's throughput >= 90 % of the minimal HAProxy's and >= 2x Berth's own through the
published port; added median latency over direct <= 0.5 ms (measured at one connection, where
latency is not queueing).
With --check the exit code is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HAPROXY = "/usr/sbin/haproxy"
TOKEN = "bench-token-0123456789"
SERVICE = "bench_svc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# --- the fast backend: HAProxy answering by itself, in a scratch image ----------------------------

BACKEND_CFG = """global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind :8000
    http-request return status 200 content-type text/plain string "ok"
"""


def backend_image(client) -> str:
    libs = set()
    for line in subprocess.run(["ldd", HAPROXY], capture_output=True, text=True, check=True).stdout.splitlines():
        libs.update(Path(p) for p in line.split() if p.startswith("/"))
    key = hashlib.sha256((BACKEND_CFG + str(Path(HAPROXY).stat().st_size)).encode()).hexdigest()[:12]
    tag = f"berth-bench/fast-backend:{key}"
    try:
        client.images.get(tag)
        return tag
    except Exception:
        pass
    with tempfile.TemporaryDirectory() as context:
        with tarfile.open(Path(context) / "rootfs.tar", "w") as tar:
            for lib in sorted(libs):
                tar.add(lib.resolve(), arcname=str(lib).lstrip("/"))
            tar.add(HAPROXY, arcname="usr/sbin/haproxy")
            cfg = Path(context) / "haproxy.cfg"
            cfg.write_text(BACKEND_CFG)
            tar.add(cfg, arcname="etc/haproxy.cfg")
        (Path(context) / "Dockerfile").write_text(
            'FROM scratch\nADD rootfs.tar /\nCMD ["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy.cfg"]\n'
        )
        client.images.build(path=context, tag=tag, rm=True)
    return tag


# --- Berth's gateway on a throwaway database --------------------------------------------------------


def berth_env(workdir: Path, http_port: int) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "BERTH_SQLITE_PATH": str(workdir / "bench.sqlite3"),
        "BERTH_GATEWAY_DIR": str(workdir / "gateway"),
        "BERTH_GATEWAY_HTTP_PORT": str(http_port),
        "BERTH_GATEWAY_GRPC_PORT": str(free_port()),
        "BERTH_GATEWAY_METRICS_INTERVAL": "10",
    }


SEED = """
from deployments.models import DockerHost, Instance, Service, ServiceVersion, Workspace
workspace = Workspace.objects.create(name="bench", slug="bench")
host = DockerHost.objects.create(name="bench", url="unix:///var/run/docker.sock", address="127.0.0.1")
for name, address, port in (("{service}", "{ip}", 8000), ("{service}_published", "127.0.0.1", {host_port})):
    service = Service.objects.create(name=name, workspace=workspace, token="{token}", status="Running")
    version = ServiceVersion.objects.create(service=service, number=1, config={{"name": name}})
    Service.objects.filter(pk=service.pk).update(current_version=version)
    Instance.objects.create(service=service, version=version, host=host, ordinal=0, name=name + "-0", status="Running",
                            address=address, port=port, host_port={host_port}, ready=True, started=True)
"""


def minimal_config(port: int, backend: str) -> str:
    return f"""global
    log stdout format raw local0 err
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:{port}
    http-request deny deny_status 401 unless {{ req.hdr(authorization) -m str {TOKEN} }}
    http-request replace-path ^/api/predict/[^/]*/?(.*)$ /\\1
    default_backend be
backend be
    server s1 {backend}
"""


# --- wrk ------------------------------------------------------------------------------------


def wrk(url: str, *, connections: int, seconds: int, threads: int = 2) -> dict:
    result = subprocess.run(
        ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-H", f"Authorization: {TOKEN}", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    median = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": median, "p99_ms": p99, "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}  # fmt: skip


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    import docker

    client = docker.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / "var"))
    container = gateway = minimal = None
    try:
        image = backend_image(client)
        container = client.containers.run(
            image,
            detach=True,
            name=f"berth-bench-{os.getpid()}",
            ports={"8000/tcp": ("127.0.0.1", None)},
            labels={"berth.bench": "1"},
        )
        container.reload()
        backend_port = int(container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])
        backend_ip = container.attrs["NetworkSettings"]["IPAddress"]
        wait_port(backend_port)

        berth_port, minimal_port = free_port(), free_port()
        env = berth_env(workdir, berth_port)
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([python, "manage.py", "shell", "-v0", "-c", SEED.format(service=SERVICE, token=TOKEN, ip=backend_ip, host_port=backend_port)],
                       cwd=ROOT, env=env, check=True)  # fmt: skip
        log = open(workdir / "gateway.log", "w")
        gateway = subprocess.Popen(
            [python, "manage.py", "gateway"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        wait_port(berth_port)
        (workdir / "minimal.cfg").write_text(minimal_config(minimal_port, f"{backend_ip}:8000"))
        minimal = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(workdir / "minimal.cfg")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(minimal_port)

        targets = {
            "direct": f"http://{backend_ip}:8000/infer",
            "published port": f"http://127.0.0.1:{backend_port}/infer",
            "berth gateway": f"http://127.0.0.1:{berth_port}/api/predict/{SERVICE}/infer",
            "berth via published port": f"http://127.0.0.1:{berth_port}/api/predict/{SERVICE}_published/infer",
            "minimal haproxy": f"http://127.0.0.1:{minimal_port}/api/predict/{SERVICE}/infer",
        }
        for name, url in targets.items():  # warm up, and prove each path answers 200
            warm = wrk(url, connections=4, seconds=1)
            if warm["non2xx"]:
                raise SystemExit(f"{name}: {warm['non2xx']} non-2xx answers during warm-up: {url}")

        results: dict[str, dict] = {}
        # Throughput under load; alternate the order twice and keep each path's better run (2 cores: noisy).
        for round_ in range(2):
            for name in list(targets) if round_ == 0 else list(reversed(targets)):
                run = wrk(targets[name], connections=args.connections, seconds=args.seconds)
                if name not in results or run["rps"] > results[name]["rps"]:
                    results[name] = run
        # Latency at one connection: the cost of a hop, without queueing.
        latency = {
            name: wrk(url, connections=1, seconds=max(3, args.seconds // 2), threads=1) for name, url in targets.items()
        }

        print(f"\nload: wrk -c{args.connections} -d{args.seconds}s (best of 2), latency: wrk -c1\n")
        print(f"{'path':<26}{'req/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}   {'c1 req/s':>9}{'c1 p50 ms':>11}")
        for name in targets:
            r, one = results[name], latency[name]
            print(
                f"{name:<26}{r['rps']:>12.0f}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}{r['non2xx']:>9}   {one['rps']:>9.0f}{one['p50_ms']:>11.3f}"
            )
        ratio = results["berth gateway"]["rps"] / results["minimal haproxy"]["rps"]
        added = latency["berth gateway"]["p50_ms"] - latency["direct"]["p50_ms"]
        added_minimal = latency["minimal haproxy"]["p50_ms"] - latency["direct"]["p50_ms"]
        over_published = results["berth gateway"]["rps"] / results["berth via published port"]["rps"]
        throughput_ok, latency_ok = ratio >= 0.90 and over_published >= 2.0, added <= 0.5
        print(
            f"\nberth / minimal haproxy throughput: {ratio:.1%}  (target >= 90%)  {'OK' if ratio >= 0.9 else 'MISSED'}"
        )
        print(
            f"berth / berth via published port:   {over_published:.2f}x  (target >= 2x)  {'OK' if over_published >= 2 else 'MISSED'}"
        )
        print(f"berth / direct throughput:          {results['berth gateway']['rps'] / results['direct']['rps']:.1%}")
        print(f"added median latency over direct:   berth {added:+.3f} ms (target <= 0.5 ms) {'OK' if latency_ok else 'MISSED'}; "
              f"minimal haproxy {added_minimal:+.3f} ms")  # fmt: skip
        errors = [n for n, r in results.items() if r["non2xx"] or r["socket_errors"]]
        if errors:
            print(
                f"errors on: {', '.join(errors)}: "
                + "; ".join(f"{n}: {results[n]['non2xx']} non-2xx {results[n]['socket_errors']}" for n in errors)
            )
        return 0 if (throughput_ok and latency_ok) or not args.check else 1
    finally:
        for proc in (gateway, minimal):
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)
        if container is not None:
            container.remove(force=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
