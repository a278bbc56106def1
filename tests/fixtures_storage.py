"""Fixtures for the storage tests: an S3 server, a git server over HTTPS, host paths, cleanup.

- `s3_server`: moto's standalone server (PyPI `moto[server]`, unmodified) on a loopback port, with
  IAM authentication on, so wrong keys and missing permissions fail as they would on a real store.
- `git_server`: git's own `git http-backend` (CGI) behind a small threaded HTTPS server with basic
  auth, serving bare repositories from a scratch directory.
- At import, before the worker starts, two variables go into the environment the engine stack
  passes to the worker: BERTH_STORAGE_CA_BUNDLE (the git server's certificate) and
  BERTH_HOST_PATH_ROOTS (a scratch directory of this run).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deployments.actions import object_stores, workspaces
from tests import stack

STORAGE_VAR = stack.VAR / "storage-test"
CA_FILE = STORAGE_VAR / "git-server.pem"
KEY_FILE = STORAGE_VAR / "git-server.key"
HOST_PATH_ROOT = STORAGE_VAR / f"host-paths-{stack.RUN_ID}"
GIT_USER, GIT_PASSWORD = "deployer", "git-secret-token-8c1f"


def _server_certificate() -> None:
    """A self-signed certificate for 127.0.0.1 (it is its own CA), made once per machine."""
    if CA_FILE.exists() and KEY_FILE.exists():
        return
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    STORAGE_VAR.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth test git server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    KEY_FILE.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    CA_FILE.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


_server_certificate()
HOST_PATH_ROOT.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("BERTH_STORAGE_CA_BUNDLE", str(CA_FILE))
os.environ.setdefault("BERTH_HOST_PATH_ROOTS", str(HOST_PATH_ROOT))
# moto and the other test servers listen on loopback, which object stores may not use by default: the
# documented administrator's escape (deployments/storage/endpoints.py), for the worker and this process.
os.environ.setdefault("BERTH_OBJECT_STORE_ALLOW", "127.0.0.1")


@pytest.fixture(autouse=True)
def _object_store_allow_loopback(settings):
    settings.BERTH_OBJECT_STORE_ALLOW = ["127.0.0.1"]


# --- S3 (moto) ------------------------------------------------------------------------------------


@dataclass
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    denied_key_id: str  # a valid key of a user with no permissions
    denied_secret: str

    def client(self, key_id: str | None = None, secret: str | None = None):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key_id or self.access_key_id, aws_secret_access_key=secret or self.secret_access_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def bucket(self, name: str, files: dict[str, bytes]) -> None:
        s3 = self.client()
        try:
            s3.create_bucket(Bucket=name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        for key, body in files.items():
            s3.put_object(Bucket=name, Key=key, Body=body)


# Requests moto answers before it starts checking keys: exactly the IAM calls below.
_SETUP_CALLS = 5


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    import boto3

    port = stack.free_port()
    log = open(stack.VAR / f"test-moto-{stack.RUN_ID}.log", "w")
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_SETUP_CALLS)}
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    stack.wait_for(lambda: stack.port_open(port), timeout=30, what="moto_server")
    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup",
                       aws_secret_access_key="setup")
    iam.create_user(UserName="berth")
    key = iam.create_access_key(UserName="berth")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="berth", PolicyName="s3", PolicyDocument=json.dumps(policy))
    iam.create_user(UserName="nobody")
    denied = iam.create_access_key(UserName="nobody")["AccessKey"]
    yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], denied["AccessKeyId"], denied["SecretAccessKey"])
    stack.stop(proc)


@pytest.fixture
def object_store(s3_server, alice):
    """alice's current workspace's default connection to the S3 server."""


    workspace = workspaces.workspace_current_ensure(user=alice)
    return object_stores.object_store_create(
        actor=alice, workspace=workspace, name="moto", endpoint_url=s3_server.endpoint, region="us-east-1",
        addressing_style="path", access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key, is_default=True,
    )


# --- git over HTTPS -------------------------------------------------------------------------------


class _GitHandler(BaseHTTPRequestHandler):
    """Smart HTTP through git-http-backend (CGI), behind basic auth."""

    protocol_version = "HTTP/1.1"
    root: str = ""
    seen_authorization: list = []

    def log_message(self, *args):
        pass

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        self.seen_authorization.append(bool(header))
        expected = "Basic " + base64.b64encode(f"{GIT_USER}:{GIT_PASSWORD}".encode()).decode()
        return header == expected

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self):
        body = self._body()
        if not self._authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="berth-test-git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": GIT_USER,
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        result = subprocess.run(["/usr/lib/git-core/git-http-backend"], input=body, env=env, capture_output=True)
        head, _, content = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, content = result.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode(errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _serve


@dataclass
class GitServer:
    base: str  # https://127.0.0.1:<port>
    root: Path

    def repo(self, name: str, files: dict[str, str], *, branch: str = "main") -> str:
        """A bare repository with one commit of `files`; returns its clone URL."""
        bare = self.root / f"{name}.git"
        shutil.rmtree(bare, ignore_errors=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(bare)], check=True)
        self.commit(name, files, branch=branch, message="first")
        return f"{self.base}/{name}.git"

    def commit(self, name: str, files: dict[str, str], *, branch: str = "main", message: str = "change") -> str:
        """Commit `files` (on top of the branch) and push; returns the new commit id."""
        bare = self.root / f"{name}.git"
        with tempfile.TemporaryDirectory() as work:
            git = ["git", "-C", work, "-c", "user.name=Test", "-c", "user.email=test@example.com"]
            subprocess.run(["git", "clone", "-q", str(bare), work], check=True, capture_output=True)
            subprocess.run([*git, "checkout", "-q", "-B", branch], check=True)
            for path, text in files.items():
                target = Path(work) / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
            subprocess.run([*git, "add", "-A"], check=True)
            subprocess.run([*git, "commit", "-q", "-m", message], check=True)
            subprocess.run([*git, "push", "-q", "origin", f"HEAD:{branch}"], check=True, capture_output=True)
            return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def git_server() -> GitServer:
    root = Path(tempfile.mkdtemp(prefix="git-", dir=STORAGE_VAR))
    handler = type("Handler", (_GitHandler,), {"root": str(root), "seen_authorization": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CA_FILE, KEY_FILE)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield GitServer(f"https://127.0.0.1:{server.server_address[1]}", root)
    server.shutdown()
    shutil.rmtree(root, ignore_errors=True)


# --- host paths and cleanup -----------------------------------------------------------------------


@pytest.fixture
def host_dir(settings) -> Path:
    """A fresh directory under the run's allowed host-path root (BERTH_HOST_PATH_ROOTS of the worker,
    and of this process: Django's settings may have been read before this module set the variable)."""
    settings.BERTH_HOST_PATH_ROOTS = [str(HOST_PATH_ROOT)]
    path = Path(tempfile.mkdtemp(dir=HOST_PATH_ROOT))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session", autouse=False)
def storage_cleanup(dockerd):
    """At the end of the run: every container and volume this run's installation made (caches included)."""
    yield
    import docker

    client = docker.from_env()
    label = f"berth.installation=test-{stack.RUN_ID}"
    for container in client.containers.list(all=True, filters={"label": label}):
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
    for volume in client.volumes.list(filters={"label": label}):
        try:
            volume.remove(force=True)
        except docker.errors.APIError:
            pass
    shutil.rmtree(HOST_PATH_ROOT, ignore_errors=True)
