"""A real three-node Docker Swarm on one machine, for the Swarm runtime's tests.

Every node is its own dockerd (own --data-root, --exec-root, unix socket, pidfile, hostname) in its own
network namespace; the nodes and the root namespace meet on a Linux bridge that lives in a fourth,
"switch" namespace. Why not a bridge in the root namespace: the system dockerd sets the root FORWARD
policy to DROP and br_netfilter sends bridged frames through it, so node-to-node traffic would need a
rule in the system firewall. In the switch namespace the bridge has its own, empty, firewall; the root
namespace is just one more host on the /24 (through a veth), and the system's iptables are never touched.

Inside its namespace a node may keep its own iptables rules (they are per namespace), but it needs none:
`--iptables=false` and the userland proxy publish host-mode ports, and no default route leaves the /24,
so a node never sends traffic anywhere but the other nodes and the root namespace.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests import stack

SWARM_PORT = 2377


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _free_subnet() -> str:
    """A 10.231.X /24 no interface of the root namespace uses (several runs may overlap in time)."""
    taken = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True).stdout
    start = int(stack.RUN_ID) % 250
    for offset in range(250):
        prefix = f"10.231.{(start + offset) % 250}"
        if f" {prefix}." not in taken:
            return prefix
    raise RuntimeError("no free 10.231.X.0/24 subnet for the swarm harness")


@dataclass
class Node:
    name: str  # also the hostname Swarm reports
    netns: str
    veth: str  # the switch-side end of the node's link: cutting the node sets it down
    address: str
    socket: str
    exec_root: str
    data_root: str
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.url, timeout=30)


@dataclass
class SwarmCluster:
    """Three dockerd joined into one swarm; `start()` builds it, `stop()` removes every trace (idempotent)."""

    run_id: str = stack.RUN_ID
    prefix: str = field(default_factory=_free_subnet)
    heartbeat_seconds: int = 1
    nodes: list[Node] = field(default_factory=list)
    started_seconds: float = 0.0
    _stopped: bool = False

    def __post_init__(self):
        tag = f"bsw{self.run_id}"
        self.switch = f"{tag}-s"
        self.uplink = f"{tag}-0"  # root-namespace end of the root <-> switch link
        self.gateway = f"{self.prefix}.1"  # the root namespace's address on the swarm's /24
        self.run_dir = Path(f"/run/berth-swarm-{self.run_id}")
        self.data_dir = Path(f"/var/tmp/berth-swarm-{self.run_id}")
        for i in (1, 2, 3):
            self.nodes.append(
                Node(
                    name=f"node{i}",
                    netns=f"{tag}-{i}",
                    veth=f"{tag}-{i}",
                    address=f"{self.prefix}.{10 + i}",
                    socket=str(self.run_dir / f"node{i}.sock"),
                    exec_root=str(self.run_dir / f"n{i}"),
                    data_root=str(self.data_dir / f"n{i}"),
                )
            )

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    @property
    def subnet(self) -> str:
        return f"{self.prefix}.0/24"

    # --- bring-up --------------------------------------------------------------------------------

    def start(self) -> SwarmCluster:
        began = time.monotonic()
        try:
            self.run_dir.mkdir(parents=True)
            (self.run_dir / "owner").write_text(str(os.getpid()))  # lets a later run sweep us if we get killed
            self._network()
            for node in self.nodes:
                self._dockerd(node)
            for node in self.nodes:
                stack.wait_for(lambda n=node: _ping(n), timeout=60, what=f"dockerd of {node.name}")
            self._join()
        except BaseException:
            self.stop()
            raise
        self.started_seconds = time.monotonic() - began
        print(f"\nswarm harness: 3 nodes on {self.subnet} up in {self.started_seconds:.1f}s")
        return self

    def _network(self) -> None:
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        _ip("link", "add", self.uplink, "type", "veth", "peer", "name", "uplink", "netns", self.switch)
        _ip("-n", self.switch, "link", "set", "uplink", "master", "br0", "up")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.uplink)
        _ip("link", "set", self.uplink, "up")
        for node in self.nodes:
            _ip("netns", "add", node.netns)
            _ip(
                "-n", self.switch, "link", "add", node.veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns
            )
            _ip("-n", self.switch, "link", "set", node.veth, "master", "br0", "up")
            _ip("-n", node.netns, "addr", "add", f"{node.address}/24", "dev", "eth0")
            _ip("-n", node.netns, "link", "set", "eth0", "up")
            _ip("-n", node.netns, "link", "set", "lo", "up")

    def _dockerd(self, node: Node) -> None:
        Path(node.exec_root).mkdir(parents=True, exist_ok=True)
        Path(node.data_root).mkdir(parents=True, exist_ok=True)
        config = Path(node.exec_root) / "daemon.json"
        config.write_text("{}")  # never inherit /etc/docker/daemon.json
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        # nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup mounts dockerd needs.
        # unshare --uts gives each node its own hostname, which is what Swarm lists.
        args = [
            "unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', node.name,
            "nsenter", f"--net=/run/netns/{node.netns}", "--",
            dockerd, "--config-file", str(config), "--data-root", node.data_root, "--exec-root", node.exec_root,
            "-H", node.url, "--pidfile", str(Path(node.exec_root) / "dockerd.pid"),
            "--iptables=false", "--ip-masq=false", "--userland-proxy=true",
            # The test registry speaks plain HTTP on the root namespace's address.
            "--insecure-registry", self.subnet,
        ]  # fmt: skip
        log = open(Path(node.data_root) / "dockerd.log", "w")
        node.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _join(self) -> None:
        manager = self.manager.client()
        manager.swarm.init(
            advertise_addr=self.manager.address,
            listen_addr=f"{self.manager.address}:{SWARM_PORT}",
            # Node failure is noticed after a few missed heartbeats: 1 s keeps the fault tests short.
            dispatcher_heartbeat_period=self.heartbeat_seconds * 1_000_000_000,
        )
        token = manager.swarm.attrs["JoinTokens"]["Worker"]
        for node in self.nodes[1:]:
            node.client().swarm.join(
                remote_addrs=[f"{self.manager.address}:{SWARM_PORT}"],
                join_token=token,
                listen_addr=f"{node.address}:{SWARM_PORT}",
                advertise_addr=node.address,
            )
        stack.wait_for(
            lambda: sum(n.attrs["Status"]["State"] == "ready" for n in manager.nodes.list()) == 3,
            timeout=30,
            what="three ready swarm nodes",
        )

    def load_images(self, *tags: str) -> float:
        """`docker save` from the system dockerd, `load` into every node in parallel; returns seconds taken."""
        import docker

        began = time.monotonic()
        for tag in tags:
            self._load_image(docker.from_env(timeout=120), tag)
        for node in self.nodes:
            for tag in tags:
                node.client().images.get(tag)  # raises if a load failed
        seconds = time.monotonic() - began
        print(f"swarm harness: loaded {', '.join(tags)} into 3 nodes in {seconds:.1f}s")
        return seconds

    def _load_image(self, system, tag: str) -> None:
        with tempfile.NamedTemporaryFile(dir=self.data_dir, suffix=".tar") as archive:
            for chunk in system.api.get_image(tag):
                archive.write(chunk)
            archive.flush()

            def load(node: Node) -> None:
                with open(archive.name, "rb") as data:
                    node.client().api.load_image(data)

            threads = [threading.Thread(target=load, args=(node,)) for node in self.nodes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    # --- faults ------------------------------------------------------------------------------------

    def cut(self, node: Node) -> None:
        """Take the node off the network (its link to the switch goes down); it keeps running."""
        _ip("-n", self.switch, "link", "set", node.veth, "down")

    def restore(self, node: Node) -> None:
        _ip("-n", self.switch, "link", "set", node.veth, "up")

    def node_by_address(self, address: str) -> Node:
        return next(n for n in self.nodes if n.address == address)

    # --- teardown ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Leave the swarm, stop the dockerds this harness started (by PID), delete namespaces, links and
        directories. Safe to call twice and after a partial start."""
        if self._stopped:
            return
        self._stopped = True
        for node in self.nodes:  # a node cut by a test must be back to leave cleanly
            if _link_exists(self.switch, node.veth):
                self.restore(node)
        for node in reversed(self.nodes):  # workers first, the manager last
            if node.proc is not None and node.proc.poll() is None:
                try:
                    client = node.client()
                    for service in client.services.list() if node is self.manager else []:
                        service.remove()
                    client.swarm.leave(force=True)
                except Exception:  # noqa: BLE001 - teardown goes on; the processes are killed below anyway
                    pass
        for node in self.nodes:
            _terminate(node)
        for pid in _shims_under(str(self.run_dir)):
            _kill_tree(pid)
        _unmount_under(str(self.run_dir), str(self.data_dir))
        for name in [n.netns for n in self.nodes] + [self.switch]:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", self.uplink], capture_output=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def sweep_stale() -> list[str]:
    """Remove what harness runs that were killed (no teardown ran) left behind: their dockerds (by the PIDs in
    their pidfiles), shims, mounts, namespaces and directories. A run whose owner process lives is left alone.
    Returns the run ids swept."""
    swept = []
    for run_dir in sorted(Path("/run").glob("berth-swarm-*")):
        try:
            owner = int((run_dir / "owner").read_text())
        except (OSError, ValueError):
            owner = None
            if time.time() - run_dir.stat().st_mtime < 60:  # just created: its owner file is on its way
                continue
        if owner is not None and _alive(owner):
            continue
        cluster = SwarmCluster(run_id=run_dir.name.removeprefix("berth-swarm-"), prefix="0.0.0")
        for node in cluster.nodes:
            try:
                _kill_tree(int((Path(node.exec_root) / "dockerd.pid").read_text()))
            except (OSError, ValueError):
                pass
        cluster.stop()
        swept.append(cluster.run_id)
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


def _ping(node: Node) -> bool:
    if node.proc is not None and node.proc.poll() is not None:
        log = Path(node.data_root) / "dockerd.log"
        raise RuntimeError(f"dockerd of {node.name} exited: {log.read_text()[-2000:]}")
    try:
        return node.client().ping()
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _link_exists(netns: str, link: str) -> bool:
    return subprocess.run(["ip", "-n", netns, "link", "show", link], capture_output=True).returncode == 0


def _terminate(node: Node) -> None:
    if node.proc is None or node.proc.poll() is not None:
        return
    tree = stack.process_tree(node.proc.pid)  # dockerd and its managed containerd
    node.proc.terminate()
    try:
        node.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    for pid in tree:
        _kill(pid)
    node.proc.wait(timeout=10)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_tree(pid: int) -> None:
    for each in stack.process_tree(pid):
        _kill(each)


def _shims_under(path: str) -> list[int]:
    """containerd shims of this harness's nodes: they re-parent to init, so they are found by their address."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "containerd-shim" in cmdline and f"{path}/" in cmdline:
                found.append(int(entry.name))
    return found


def _unmount_under(*paths: str) -> None:
    """Lazily unmount what the nodes left mounted (overlay layers, netns handles), deepest first."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mountpoint in sorted((m for m in mounts if any(m == p or m.startswith(p + "/") for p in paths)), reverse=True):
        subprocess.run(["umount", "-l", mountpoint], capture_output=True)


def start_registry_on(address: str, username: str, password: str) -> tuple[subprocess.Popen, str, Path]:
    """Debian's docker-registry with htpasswd auth on `address` (the root namespace's end of the swarm's /24,
    reachable from every node); returns (process, host:port, its directory)."""
    port = stack.free_port()
    stack.VAR.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="swarm-registry-", dir=stack.VAR))
    subprocess.run(["htpasswd", "-Bbc", str(root / "htpasswd"), username, password], check=True, capture_output=True)
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: '{address}:{port}'}}\n"
        f"auth: {{htpasswd: {{realm: berth-swarm-test, path: {root / 'htpasswd'}}}}}\n"
    )
    proc = subprocess.Popen(
        [shutil.which("docker-registry") or "/usr/bin/docker-registry", "serve", str(root / "config.yml")],
        stdout=open(root / "registry.log", "w"),
        stderr=subprocess.STDOUT,
    )
    stack.wait_for(lambda: stack.port_open(port, address), timeout=20, what="docker-registry on the swarm network")
    return proc, f"{address}:{port}", root
