"""Real components for integration tests: dockerd, redis-server, a Celery worker (with beat), the prober.

Each is started once per pytest run (session fixtures in tests/conftest.py), on free
ports, and stopped at the end only if this run started it.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
RUN_ID = f"{os.getpid() % 100000:05d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def docker_ping() -> bool:
    import docker

    try:
        return docker.from_env(timeout=5).ping()
    except Exception:
        return False


def start_dockerd() -> subprocess.Popen | None:
    """Start dockerd when none answers; returns the process we started (None if one was running)."""
    if docker_ping():
        return None
    VAR.mkdir(exist_ok=True)
    log = open(VAR / "dockerd.log", "a")
    proc = subprocess.Popen([shutil.which("dockerd") or "/usr/sbin/dockerd"], stdout=log, stderr=subprocess.STDOUT)
    wait_for(docker_ping, timeout=60, what="dockerd")
    return proc


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: port_open(port), timeout=20, what="redis-server")
    return proc, f"redis://127.0.0.1:{port}/0"


def start_manage(name: str, args: list[str], env: dict) -> subprocess.Popen:
    VAR.mkdir(exist_ok=True)
    log = open(VAR / f"test-{name}.log", "w")
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def build_image(name: str, files: dict[str, bytes | Path], dockerfile: str) -> str:
    """Build an image once per content: tagged by a hash of its build context, reused when present."""
    import docker

    digest = hashlib.sha256(dockerfile.encode())
    for path, content in sorted(files.items()):
        digest.update(path.encode())
        digest.update(content.read_bytes() if isinstance(content, Path) else content)
    def build(tag: str, context: Path) -> None:
        for path, content in files.items():
            target = context / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copy2(content, target)
            else:
                target.write_bytes(content)
        (context / "Dockerfile").write_text(dockerfile)
        docker.from_env().images.build(path=str(context), tag=tag, rm=True)

    return cached_image(f"berth-test/{name}:{digest.hexdigest()[:12]}", build)


def cached_image(tag: str, build) -> str:
    """`tag` if the image exists, else what `build(tag, context_dir)` makes in a scratch directory."""
    import docker

    try:
        docker.from_env().images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory() as context:
        build(tag, Path(context))
    return tag


def busybox_image() -> str:
    """A ~1 MB image with a shell, httpd and nc: busybox-static copied into scratch."""
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    return build_image(
        "busybox",
        {"busybox": busybox},
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n',
    )


def remove_run_containers(prefix: str) -> None:
    """Remove every container whose berth.service label starts with this run's prefix."""
    import docker

    client = docker.from_env()
    # The low-level list: no inspect per container, which fails for one removed meanwhile.
    for container in client.api.containers(all=True, filters={"label": "berth.service"}):
        if (container.get("Labels") or {}).get("berth.service", "").startswith(prefix):
            try:
                client.api.remove_container(container["Id"], force=True, v=True)
            except docker.errors.NotFound:
                pass


PYTHON_PACKAGES = "python3,python3-pip,python3-flask"


def python_image() -> str:
    """A Debian bookworm image with python3, pip and Flask: debootstrap + docker import (no registry needed).

    Built once per machine (tagged by its package list) and reused: about a minute the first time.
    """
    import docker

    tag = f"berth-test/python:{hashlib.sha256(PYTHON_PACKAGES.encode()).hexdigest()[:12]}"
    client = docker.from_env()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(dir=VAR) as root:
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PYTHON_PACKAGES}", "bookworm", root,
             "http://deb.debian.org/debian"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(Path(root) / cache, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", 'CMD ["/bin/bash"]', "-", tag], stdin=tar.stdout, check=True,
                       stdout=subprocess.DEVNULL)
        tar.wait()
    return tag


def start_registry(username: str, password: str) -> tuple[subprocess.Popen, str]:
    """Debian's docker-registry with htpasswd auth on a free loopback port; returns (process, host:port)."""
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="registry-", dir=VAR))
    subprocess.run(["htpasswd", "-Bbc", str(root / "htpasswd"), username, password], check=True, capture_output=True)
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
        f"auth: {{htpasswd: {{realm: berth-test, path: {root / 'htpasswd'}}}}}\n"
    )
    proc = subprocess.Popen(
        [shutil.which("docker-registry") or "/usr/bin/docker-registry", "serve", str(root / "config.yml")],
        stdout=open(root / "registry.log", "w"), stderr=subprocess.STDOUT,
    )
    wait_for(lambda: port_open(port), timeout=20, what="docker-registry")
    return proc, f"127.0.0.1:{port}"


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(children.get(current, []))
    return tree


def start_postgres() -> tuple[subprocess.Popen, str, Path]:
    """A throwaway PostgreSQL cluster on a free loopback port, run as the postgres user; returns
    (process, DATABASE_URL, data directory)."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not binaries:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    bin_dir = binaries[-1]
    root = Path(tempfile.mkdtemp(prefix="berth-pg-"))
    data = root / "data"
    shutil.chown(root, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [*as_postgres, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=open(root / "postgres.log", "w"), stderr=subprocess.STDOUT,
    )
    wait_for(lambda: port_open(port), timeout=30, what="postgres")
    return proc, f"postgres://postgres@127.0.0.1:{port}/postgres", root
