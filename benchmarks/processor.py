"""Processor SDK speed: a trivial `allspark` processor against a minimal aiohttp handler and the guide's Flask app.

    .venv/bin/python benchmarks/processor.py [--seconds 5] [--rounds 3] [--connections 32] [--check]

Needs wrk (apt-get install wrk) and aiohttp (requirements.txt). Everything runs as local processes on
loopback, all with this checkout's interpreter: the servers pinned to CPU 0 and wrk to CPU 1 when there are
two or more CPUs, so the servers compete with the load generator as little as possible. The servers:

- allspark with `process(data)` returning `(b"ok", 200)`, at rpc.worker_threads 1 and 5 (rpc.keepalive on,
  so the per-request deadline timer is part of the cost);
- aiohttp: one `web.Application` route answering b"ok" in the event loop (no thread hand-off);
- the custom-image guide's Flask app (`app.run(...)`, Werkzeug's threaded server) answering "Hello World".

Each round runs wrk once per server in turn, so drift in the machine's load hits every server alike; the
figure per server is the median over rounds. Targets: allspark >= 80 % of aiohttp at 1 and 5 worker threads,
and above Flask. With --check the exit code is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ALLSPARK_APP = """
import allspark


class Trivial(allspark.BaseProcessor):
    def process(self, data):
        return b"ok", 200


if __name__ == "__main__":
    Trivial().run()
"""

AIOHTTP_APP = """
import os

from aiohttp import web


async def handle(request):
    await request.read()
    return web.Response(body=b"ok")


app = web.Application()
app.router.add_route("*", "/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None)
"""

# The custom-image guide's Flask app; only the port is taken from the environment.
FLASK_APP = """
import os

from flask import Flask

app = Flask(__name__)


@app.route("/hello/model")
def hello_world():
    return "Hello World"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
"""


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


def pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else []


def start(script: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*pin(0), sys.executable, str(script)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc


def wrk(url: str, seconds: float, connections: int) -> float:
    out = subprocess.run(
        [*pin(1), "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} non-2xx answers under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="bench-processor-") as tmp:
        apps = {}
        for name, text in (
            ("allspark_app.py", ALLSPARK_APP),
            ("aiohttp_app.py", AIOHTTP_APP),
            ("flask_app.py", FLASK_APP),
        ):
            apps[name] = Path(tmp) / name
            apps[name].write_text(text)
        pythonpath = {"PYTHONPATH": str(ROOT / "processor")}
        servers: dict[str, str] = {}
        try:
            for threads in (1, 5):
                port = free_port()
                env = {
                    **pythonpath,
                    "ALLSPARK_ENDPOINT": f"127.0.0.1:{port}",
                    "ALLSPARK_RPC_WORKER_THREADS": str(threads),
                }
                # A queue deep enough for every wrk connection: this measures throughput, not 450s.
                env["ALLSPARK_RPC_MAX_QUEUE_SIZE"] = str(args.connections)
                procs.append(start(apps["allspark_app.py"], env, port))
                servers[f"allspark, {threads} worker thread{'s' if threads > 1 else ''}"] = f"http://127.0.0.1:{port}/"
            port = free_port()
            procs.append(start(apps["aiohttp_app.py"], {"PORT": str(port)}, port))
            servers["aiohttp handler"] = f"http://127.0.0.1:{port}/"
            port = free_port()
            procs.append(start(apps["flask_app.py"], {"PORT": str(port)}, port))
            servers["guide's Flask app"] = f"http://127.0.0.1:{port}/hello/model"

            results: dict[str, list[float]] = {name: [] for name in servers}
            for url in servers.values():  # warm-up: imports, first connections
                wrk(url, 1, args.connections)
            for _ in range(args.rounds):
                for name, url in servers.items():
                    results[name].append(wrk(url, args.seconds, args.connections))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    median = {name: statistics.median(values) for name, values in results.items()}
    print(f"wrk -t1 -c{args.connections}, {args.seconds:g}s x {args.rounds} rounds, median req/s (all rounds):")
    for name, value in median.items():
        rounds = ", ".join(f"{v:.0f}" for v in results[name])
        print(f"  {name:<30} {value:>9.0f}   ({rounds})")
    baseline, flask = median["aiohttp handler"], median["guide's Flask app"]
    failed = False
    for threads in (1, 5):
        name = f"allspark, {threads} worker thread{'s' if threads > 1 else ''}"
        vs_aiohttp, vs_flask = median[name] / baseline, median[name] / flask
        ok = vs_aiohttp >= 0.8 and vs_flask > 1
        failed |= not ok
        print(f"  {name}: {vs_aiohttp:.0%} of aiohttp (goal >= 80 %), {vs_flask:.1f}x Flask {'ok' if ok else 'MISSED'}")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
