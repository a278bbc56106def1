"""Fixtures for the gateway tests: the gateway controller (with its HAProxy), test images, the EAS client.

- `gateway`: `manage.py gateway` started once per session as a subprocess, with the same
  environment as the engine stack (same test database, same Redis) on free ports.
- `python_image`: a Python image built locally (nothing can be pulled): the host's
  /usr/bin/python3.11, its stdlib and shared libraries, grpcio copied from this venv, and
  the small servers below (HTTP echo with WebSocket echo, gRPC echo), in a scratch image
  tagged by a hash of its content.
- `eas_client`: the official `eas-prediction` package (PyPI, unmodified) in its own
  virtualenv under var/ (it pins protobuf<=3.20.3), created once and kept across runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from deployments.actions import services, workspaces
from tests import stack

EAS_PREDICTION_VERSION = "0.36"

# --- the servers that run inside test containers ---------------------------------------------

ECHO_SERVER = r'''
"""HTTP echo (any method: JSON of what arrived), /sleep?ms=N, and a WebSocket echo on any path."""
import base64, hashlib, json, os, socket, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self):
        url = urlsplit(self.path)
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        if url.path == "/sleep":
            time.sleep(int(parse_qs(url.query).get("ms", ["1000"])[0]) / 1000)
        body = self._body()
        out = json.dumps({
            "method": self.command, "path": url.path, "query": url.query,
            "body": body.decode(errors="replace"), "version": os.environ.get("VERSION", ""),
            "hostname": socket.gethostname(),
            "authorization": self.headers.get("Authorization") is not None,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def _websocket(self):
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(self.rfile.read(2), "big")
            elif length == 127:
                length = int.from_bytes(self.rfile.read(8), "big")
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            if opcode == 8:
                self.wfile.write(b"\x88\x00")
                return
            reply = b"echo: " + data
            self.wfile.write(bytes([0x80 | opcode, len(reply)]) + reply if len(reply) < 126 else
                             bytes([0x80 | opcode, 126]) + len(reply).to_bytes(2, "big") + reply)
            self.wfile.flush()


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
'''

GRPC_SERVER = r'''
"""gRPC echo without generated code: raw-bytes methods /echo.Echo/Say (unary) and /echo.Echo/Count (server stream)."""
import sys
from concurrent import futures

import grpc


def say(request, context):
    return b"echo: " + request


def count(request, context):
    for i in range(int(request or b"3")):
        yield f"item {i}".encode()


handler = grpc.method_handlers_generic_handler("echo.Echo", {
    "Say": grpc.unary_unary_rpc_method_handler(say),
    "Count": grpc.unary_stream_rpc_method_handler(count),
})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
server.add_generic_rpc_handlers((handler,))
server.add_insecure_port(f"0.0.0.0:{sys.argv[1]}")
server.start()
server.wait_for_termination()
'''

# --- images --------------------------------------------------------------------------------


def _shared_libraries(binaries: list[Path]) -> set[Path]:
    """Every shared library the binaries load (ldd), including the dynamic loader."""
    libs: set[Path] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
        for line in result.stdout.splitlines():
            parts = line.split()
            for part in parts:
                if part.startswith("/"):
                    libs.add(Path(part))
    return {lib for lib in libs if lib.exists()}


def _build_from_rootfs(name: str, key: str, populate) -> str:
    """Build a `FROM scratch` image whose root is a tar written by `populate(tar)`; reuse it when present."""
    import docker

    def build(tag: str, context: Path) -> None:
        with tarfile.open(context / "rootfs.tar", "w") as tar:
            populate(tar)
        (context / "Dockerfile").write_text("FROM scratch\nADD rootfs.tar /\n")
        docker.from_env().images.build(path=str(context), tag=tag, rm=True)

    return stack.cached_image(f"berth-test/{name}:{hashlib.sha256(key.encode()).hexdigest()[:12]}", build)


def python_image() -> str:
    """The host's Debian python3.11 + stdlib + grpcio (from this venv) + the test servers, in scratch."""
    import grpc

    python = Path("/usr/bin/python3.11")
    stdlib = Path("/usr/lib/python3.11")
    grpc_dir = Path(grpc.__file__).parent
    site = Path(grpc_dir).parent
    extras = [site / "typing_extensions.py"]
    apps = {"app/echo.py": ECHO_SERVER.encode(), "app/grpc_echo.py": GRPC_SERVER.encode()}
    key = json.dumps(
        [
            python.stat().st_size,
            sysconfig.get_python_version(),
            grpc.__version__,
            hashlib.sha256(b"".join(apps.values())).hexdigest(),
            2,
        ]
    )
    skip = {
        "test",
        "idlelib",
        "tkinter",
        "turtledemo",
        "lib2to3",
        "ensurepip",
        "__pycache__",
        "config-3.11-x86_64-linux-gnu",
    }

    def populate(tar: tarfile.TarFile) -> None:
        binaries = [python, *stdlib.glob("lib-dynload/*.so"), *grpc_dir.rglob("*.so")]
        for lib in sorted(_shared_libraries(binaries)):
            tar.add(lib.resolve(), arcname=str(lib).lstrip("/"))
        tar.add(python, arcname="usr/bin/python3")

        def no_junk(info: tarfile.TarInfo):
            return None if set(Path(info.name).parts) & skip else info

        tar.add(stdlib, arcname="usr/lib/python3.11", filter=no_junk)
        tar.add(grpc_dir, arcname="app/site/grpc", filter=no_junk)
        for extra in extras:
            if extra.exists():
                tar.add(extra, arcname=f"app/site/{extra.name}")
        for path, content in apps.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, fileobj=__import__("io").BytesIO(content))
        for directory in ("tmp",):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777
            tar.addfile(info)

    return _build_from_rootfs("python-echo", key, populate)


@pytest.fixture(scope="session")
def python_image_tag(dockerd) -> str:
    return python_image()


# --- the gateway -----------------------------------------------------------------------------


@dataclass
class Gateway:
    http_port: int
    grpc_port: int
    directory: Path
    env: dict

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def predict_url(self, service: str, rest: str = "") -> str:
        return f"{self.url}/api/predict/{service}{rest}"


def start_gateway(env: dict, *, name: str, extra: dict | None = None) -> tuple[subprocess.Popen, Gateway]:
    http_port, grpc_port = stack.free_port(), stack.free_port()
    directory = stack.VAR / f"gateway-{name}-{stack.RUN_ID}"
    gateway_env = {
        **env,
        "BERTH_GATEWAY_DIR": str(directory),
        "BERTH_GATEWAY_HTTP_PORT": str(http_port),
        "BERTH_GATEWAY_GRPC_PORT": str(grpc_port),
        "BERTH_GATEWAY_METRICS_INTERVAL": "1",
        "BERTH_GATEWAY_MAX_BODY_BYTES": str(1024 * 1024),
        **(extra or {}),
    }
    proc = stack.start_manage(name, ["manage.py", "gateway", "--tick", "0.25"], gateway_env)

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}: see var/test-{name}.log")
        return stack.port_open(http_port) and stack.port_open(grpc_port)

    stack.wait_for(up, timeout=30, what=name)
    return proc, Gateway(http_port=http_port, grpc_port=grpc_port, directory=directory, env=gateway_env)


@pytest.fixture(scope="session")
def gateway(engine_stack) -> Gateway:
    proc, gw = start_gateway(engine_stack["env"], name="gateway")
    yield gw
    stack.stop(proc)
    shutil.rmtree(gw.directory, ignore_errors=True)


# --- the official EAS client -------------------------------------------------------------------


class EasClient:
    """Runs the official client (`eas_prediction.PredictClient`) in its own virtualenv."""

    SCRIPT = r"""
import json, sys
from eas_prediction import PredictClient, StringRequest
args = json.loads(sys.argv[1])
client = PredictClient(args["endpoint"], args["service"], custom_url=args.get("custom_url", ""))
client.set_token(args["token"])
client.set_retry_count(1)
client.init()
try:
    print(json.dumps({"ok": True, "body": client.predict(StringRequest(args["body"])).response_data.decode()}))
except Exception as exc:
    print(json.dumps({"ok": False, "code": getattr(exc, "code", None), "error": str(exc)}))
"""

    def __init__(self, python: Path):
        self.python = python

    def predict(self, *, endpoint: str, service: str, token: str, body: str, custom_url: str = "") -> dict:
        args = {"endpoint": endpoint, "service": service, "token": token, "body": body, "custom_url": custom_url}
        result = subprocess.run(
            [str(self.python), "-c", self.SCRIPT, json.dumps(args)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def eas_client() -> EasClient:
    venv = stack.VAR / f"eas-client-venv-{EAS_PREDICTION_VERSION}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"eas-prediction=={EAS_PREDICTION_VERSION}",
            ],
            check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        )
        marker.touch()
    return EasClient(python)


# --- helpers for the tests -------------------------------------------------------------------

FAST_CHECK = {
    "initial_delay_seconds": 0,
    "period_seconds": 1,
    "timeout_seconds": 1,
    "success_threshold": 1,
    "failure_threshold": 2,
}


def echo_config(
    name: str,
    image: str,
    *,
    instance: int = 2,
    version: str = "v1",
    grpc: bool = False,
    metadata: dict | None = None,
    **top,
) -> dict:
    """The echo server (or the gRPC echo) from `python_image`, with a readiness check."""
    from tests.conftest import SERVICE_PREFIX

    script = "/app/grpc_echo.py" if grpc else "/app/echo.py"
    return {
        "name": SERVICE_PREFIX + name,
        "containers": [
            {
                "image": image,
                "command": f"python3 {script} 8000",
                "port": 8000,
                "env": [{"name": "PYTHONPATH", "value": "/app/site"}, {"name": "VERSION", "value": version}],
                # An HTTP check, not TCP: docker-proxy accepts on the published port before the app listens.
                "health_check": (
                    {"tcp_socket": {"port": 8000}} if grpc else {"http_get": {"path": "/healthz", "port": 8000}}
                )
                | FAST_CHECK,
            }
        ],
        "metadata": {
            "instance": instance,
            "memory": 64,
            "eas": {"termination_grace_period": 1},
            **({"enable_grpc": True} if grpc else {}),
            **(metadata or {}),
        },
        **top,
    }


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict

    def json(self):
        return json.loads(self.body)


def http(
    url: str, *, method: str = "GET", body: bytes | str | None = None, headers: dict | None = None, timeout: float = 10
) -> Response:
    """One request on a fresh connection (like curl); never raises on an HTTP status."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    kwargs = {}
    if parts.scheme == "https":
        import ssl

        kwargs["context"] = ssl._create_unverified_context()
    conn = conn_class(parts.hostname, parts.port, timeout=timeout, **kwargs)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers or {})
        response = conn.getresponse()
        return Response(response.status, response.read(), {k.lower(): v for k, v in response.getheaders()})
    finally:
        conn.close()


def deploy(user, config: dict, gateway: Gateway, *, timeout: float = 90):
    """Create the service and wait until it is Running and every instance answers through the gateway."""

    from deployments.choices import ServiceStatus
    from deployments.models import Instance, Service

    workspace = workspaces.workspace_current_ensure(user=user)
    service, _ = services.service_create(actor=user, workspace=workspace, config=config)

    def running():
        current = Service.objects.get(pk=service.pk)
        if current.status == ServiceStatus.FAILED:
            raise AssertionError(f"{current.name} failed: {current.message}")
        return current.status == ServiceStatus.RUNNING

    stack.wait_for(running, timeout=timeout, what=f"{service.name} to be Running")
    service.refresh_from_db()
    wait_routed(service, gateway, Instance.objects.filter(service=service, ready=True).count())
    return service


def wait_routed(service, gateway: Gateway, servers: int, timeout: float = 10) -> None:
    """Until HAProxy has `servers` ready servers in the service's backend."""
    from deployments.gateway.haproxy import RuntimeAPI

    api = RuntimeAPI(gateway.directory / "admin.sock", gateway.directory / "master.sock")

    def routed():
        try:
            rows = api.show_stat()
        except Exception:
            return False
        up = [
            r
            for r in rows
            if r["pxname"] == f"s_{service.name}"
            and r["svname"] not in ("BACKEND", "FRONTEND")
            and r["status"] in ("UP", "no check")
        ]
        return len(up) == servers

    stack.wait_for(routed, timeout=timeout, interval=0.1, what=f"{servers} ready servers for {service.name} in HAProxy")
