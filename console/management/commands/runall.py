"""`make run`: Berth's processes under supervisord, in the foreground with prefixed logs; Ctrl-C stops them all.

The process set is console/processes.py (the same one `manage.py deploy_units` turns into systemd
units). Redis and dockerd are added only when none answers. A process that dies is restarted by
supervisord; one that keeps dying at start is reported and left down while the rest run on
(console/supervise.py).
"""

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from console import processes
from console.supervise import Foreground


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _docker_answers(socket_path: str) -> bool:
    """True when a Docker engine answers /_ping on the unix socket."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(socket_path)
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"200 OK" in s.recv(200)
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run web, worker, beat, the prober and the gateway (and Redis, dockerd if needed) under supervision."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BERTH_BIND", "127.0.0.1:8000"))

    def handle(self, *args, bind: str, **options):
        base = Path(settings.BASE_DIR)
        var = base / "var"
        redis = urlparse(settings.REDIS_URL)
        redis_host, redis_port = redis.hostname or "127.0.0.1", redis.port or 6379
        docker_socket = settings.BERTH_LOCAL_DOCKER_URL.removeprefix("unix://")
        web_host, web_port = bind.rsplit(":", 1)
        values = {
            "python": sys.executable,
            "base": str(base),
            "var": str(var),
            "bind": bind,
            "redis_host": redis_host,
            "redis_port": str(redis_port),
            "docker_socket": docker_socket,
            "teardown_queue": settings.BERTH_TEARDOWN_QUEUE or "teardown",
        }
        needs_redis = not _port_open(redis_host, redis_port)
        needs_docker = settings.BERTH_LOCAL_DOCKER_URL.startswith("unix://") and not _docker_answers(docker_socket)
        chosen = processes.for_run(redis=needs_redis, dockerd=needs_docker)
        if needs_redis:
            (var / "redis" / str(redis_port)).mkdir(parents=True, exist_ok=True)
        # One directory per web port, so a second `make run` (or a test) in this checkout does not collide.
        run_dir = var / "run" / web_port
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fg = Foreground(chosen, values, run_dir=run_dir, base=base)

        stopping = threading.Event()
        # Explicit handlers: a shell that starts us in the background makes SIGINT ignored otherwise.
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        fg.start_supervisord()
        try:
            if needs_redis:
                fg.start("redis")
                self._wait(lambda: _port_open(redis_host, redis_port), "redis", stopping)
            if needs_docker:
                fg.start("dockerd")
                self._wait(lambda: _docker_answers(docker_socket), "dockerd", stopping, timeout=60)
            if not stopping.is_set():
                call_command("register_local_host", stdout=self.stdout)
            for process in processes.own():
                if not stopping.is_set():
                    fg.start(process.name)
            watcher = threading.Thread(target=fg.watch, args=(stopping,), daemon=True)
            watcher.start()
            self._wait(lambda: _port_open(web_host or "127.0.0.1", int(web_port)), "web", stopping)
            if not stopping.is_set():
                with fg.lock:
                    self._banner(web_host, web_port, run_dir)
            while not stopping.is_set():
                if fg.supervisord.poll() is not None:
                    self.stderr.write(f"supervisord exited with code {fg.supervisord.returncode}; stopping")
                    break
                time.sleep(0.3)
        finally:
            stopping.set()
            code = fg.stop(timeout=max(p.stop_wait for p in chosen) + 15)
        sys.exit(code)

    def _banner(self, host: str, port: str, run_dir: Path) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.stdout.write(
            f"\nBerth is up:\n  console   http://{shown}:{port}/\n  API docs  http://{shown}:{port}/api/docs/\n"
            f"  gateway   {settings.BERTH_INTERNET_ENDPOINT}/api/predict/<service>\n"
            f"  admin     http://{shown}:{port}/admin/\n  health    http://{shown}:{port}/healthz?full=1\n"
            f"  processes .venv/bin/supervisorctl -c {run_dir / 'supervisord.conf'} status\n"
            "Press Ctrl-C to stop everything.\n"
        )
        self.stdout.flush()

    def _wait(self, ready, what: str, stopping: threading.Event, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stopping.is_set():
            if ready():
                return
            time.sleep(0.2)
        if not stopping.is_set():
            self.stderr.write(f"{what} did not come up within {timeout:.0f}s")
