"""The Docker Swarm implementation for clusters: the only module that imports `docker` for Swarm.

One Swarm service per Berth service *version*; Berth scales them (and so keeps EAS rollout semantics
across two versions), Swarm places, restarts and reschedules their tasks. Swarm's in-place
`service update` is never used for rollouts. There is no routing mesh (no IPVS on the target kernels):
every task publishes its port in host mode on a port its node picks, the endpoint mode is dnsrr, and the
gateway and the prober reach each ready task at `node address:published port` (see `tasks()`).

Every docker.errors.* becomes a RuntimeFailure with a sentence a person can act on.
"""

from __future__ import annotations

import threading

import docker
import requests
from docker import errors as docker_errors
from docker.types import ContainerSpec, Placement, Resources, RestartPolicy, ServiceMode, TaskTemplate

from deployments.runtime import (
    HostInfo,
    HostUnreachable,
    ImageNotFound,
    NodeInfo,
    NotSwarmManager,
    RegistryAuth,
    RegistryAuthFailed,
    RuntimeFailure,
    TaskState,
    VersionSpec,
    VersionState,
)
from deployments.runtime.docker import _client, registry_of
from deployments.runtime.swarm_state import node_info, task_state, version_state

_NANO = 1_000_000_000
_MB = 1024 * 1024
# What a registry or the daemon says when credentials are missing or refused (the SDK reports it as a 500).
_AUTH_MARKERS = ("unauthorized", "no basic auth credentials", "authentication required", "denied", "incorrect username")
# A task's error mentions many things ("exec: permission denied"): only registry wording counts there.
_TASK_AUTH_MARKERS = (
    "unauthorized",
    "no basic auth credentials",
    "authentication required",
    "access to the resource is denied",
)


def _labels_filter(labels: dict[str, str]) -> dict:
    return {"label": [f"{k}={v}" if v else k for k, v in labels.items()]}


def _auth_text(text: str, markers: tuple[str, ...] = _AUTH_MARKERS) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in markers)


class SwarmRuntime:
    """A Swarm cluster, reached through one manager's Engine API at `manager_url` (unix:// or tcp:// + TLS)."""

    def __init__(self, manager_url: str, *, tls: dict | None = None):
        self.url = manager_url
        self.tls = tls
        self._addresses: dict[str, str] = {}  # node id -> address; nodes rarely change, tasks() asks often
        self._addresses_lock = threading.Lock()

    @property
    def client(self) -> docker.DockerClient:
        try:
            return _client(self.url, self.tls)
        except docker_errors.DockerException as exc:  # the constructor asks the engine for its API version
            raise HostUnreachable(f"cannot reach the Swarm manager at {self.url}: {exc}") from exc

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except docker_errors.APIError as exc:
            text = str(exc.explanation or exc)
            if exc.status_code == 503 and ("not a swarm manager" in text or "not part of a swarm" in text):
                raise NotSwarmManager(
                    f"the Docker engine at {self.url} is not a Swarm manager ({text}): point the cluster at a "
                    "manager node's endpoint, or run `docker swarm init` there"
                ) from exc
            raise
        except (docker_errors.DockerException, OSError) as exc:
            raise HostUnreachable(
                f"cannot reach the Swarm manager at {self.url} while trying to {what}: {exc}"
            ) from exc

    # --- nodes ----------------------------------------------------------------------------------------

    def nodes(self) -> list[NodeInfo]:
        raw = self._call("list the cluster's nodes", self.client.api.nodes)
        nodes = [node_info(entry) for entry in raw]
        with self._addresses_lock:
            self._addresses = {node.id: node.address for node in nodes}
        return sorted(nodes, key=lambda n: n.hostname)

    def node_set_availability(self, node_id: str, availability: str) -> None:
        """`drain` moves the node's tasks elsewhere and places no new ones; `active` takes it back."""
        if availability not in ("active", "pause", "drain"):
            raise ValueError(f"availability must be active, pause or drain, not {availability!r}")
        api = self.client.api
        for _attempt in range(3):  # the node object's version moves under us when Swarm updates its status
            try:
                node = self._call("inspect a node", api.inspect_node, node_id)
                spec = dict(node["Spec"], Availability=availability)
                self._call("change a node's availability", api.update_node, node_id, node["Version"]["Index"], spec)
                return
            except docker_errors.NotFound as exc:
                raise RuntimeFailure(
                    f"node {node_id} is not part of the cluster any more", reason="NodeNotFound"
                ) from exc
            except docker_errors.APIError as exc:
                if "update out of sequence" not in str(exc.explanation or exc):
                    raise RuntimeFailure(
                        f"changing node {node_id} to {availability} failed: {exc.explanation}"
                    ) from exc
        raise RuntimeFailure(
            f"changing node {node_id} to {availability} kept conflicting with other updates; try again"
        )

    def info(self) -> HostInfo:
        """The cluster's capacity: the sum over nodes that are ready and accept tasks (not drained)."""
        usable = [n for n in self.nodes() if n.state == "ready" and n.availability == "active"]
        version = self._call("read the manager's version", self.client.api.version).get("Version", "")
        return HostInfo(
            cpus=int(sum(n.cpus for n in usable)),
            memory_bytes=sum(n.memory_bytes for n in usable),
            server_version=version,
        )

    def _node_address(self, node_id: str) -> str:
        with self._addresses_lock:
            address = self._addresses.get(node_id)
        if address is None and node_id:
            self.nodes()  # a node we have not seen yet: refresh once
            with self._addresses_lock:
                address = self._addresses.get(node_id)
        return address or ""

    # --- images -----------------------------------------------------------------------------------------

    def resolve_image(self, image: str, auth: RegistryAuth | None) -> str:
        """`image` pinned to its registry digest (`repo:tag@sha256:...`), so every node runs the same bytes.

        The manager asks the registry, with `auth`. Refused credentials raise RegistryAuthFailed; an image the
        registry does not have raises ImageNotFound when credentials were given. When the registry cannot be
        asked at all (an image only loaded on the nodes, an offline cluster) the reference is returned as is,
        as the docker CLI does."""
        if "@" in image:
            return image
        registry = registry_of(image)
        credentials = (
            {"username": auth.username, "password": auth.password, "serveraddress": registry} if auth else None
        )
        try:
            found = self._call(
                "ask the registry for the image's digest", self.client.api.inspect_distribution, image, credentials
            )
        except docker_errors.APIError as exc:
            text = str(exc.explanation or exc)
            if _auth_text(text):
                raise RegistryAuthFailed(
                    f"registry {registry} refused the credentials for {image}: check dockerAuth or the saved "
                    "registry credential"
                ) from exc
            if auth and ("manifest unknown" in text or "not found" in text.lower()):
                raise ImageNotFound(
                    f"image {image} was not found in registry {registry}: check the name and tag"
                ) from exc
            return image
        return f"{image}@{found['Descriptor']['digest']}"

    # --- versions (one Swarm service each) --------------------------------------------------------------

    def version_ensure(self, spec: VersionSpec, replicas: int) -> VersionState:
        """Create the version's Swarm service with `replicas` tasks, or find the existing one of that name and
        scale it to `replicas`. Safe to repeat; the spec of an existing service is never changed (a new spec
        is a new version). Raises RegistryAuthFailed / ImageNotFound before creating anything."""
        existing = self._version_get(spec.name)
        if existing is not None:
            if existing.replicas != replicas:
                self.version_scale(spec.name, replicas)
                existing.replicas = replicas
            return existing
        image = self.resolve_image(spec.image, spec.auth)
        try:
            self._create(spec, image, replicas)
        except docker_errors.APIError as exc:
            text = str(exc.explanation or exc)
            if exc.status_code == 409:  # created concurrently by another worker: same name, same version
                return self._version_get(spec.name) or self._missing(spec.name)
            if _auth_text(text):
                raise RegistryAuthFailed(f"registry {registry_of(image)} refused the credentials for {image}") from exc
            raise RuntimeFailure(
                f"creating Swarm service {spec.name} failed: {text}", reason="ServiceCreateFailed"
            ) from exc
        return self._version_get(spec.name) or self._missing(spec.name)

    def _create(self, spec: VersionSpec, image: str, replicas: int) -> None:
        container = ContainerSpec(
            image,
            command=spec.entrypoint,  # Swarm's "Command" replaces the image's entrypoint, "Args" its command
            args=spec.command,
            # Swarm expands Go templates in env values ({{.Node.Hostname}}); a user's value is data, not a template.
            env={name: value.replace("{{", '{{"{{"}}') for name, value in spec.env.items()},
            labels=spec.labels,
            stop_grace_period=spec.stop_grace_seconds * _NANO,
        )
        resources = Resources(
            cpu_limit=int(spec.cpu * _NANO) if spec.cpu else None,
            mem_limit=spec.memory_mb * _MB if spec.memory_mb else None,
            cpu_reservation=int(spec.cpu_reservation * _NANO) if spec.cpu_reservation else None,
            mem_reservation=spec.memory_reservation_mb * _MB if spec.memory_reservation_mb else None,
        )
        template = TaskTemplate(
            container,
            resources=resources,
            restart_policy=RestartPolicy(condition="on-failure", delay=int(spec.restart_delay_seconds * _NANO)),
            placement=Placement(constraints=spec.constraints) if spec.constraints else None,
        )
        # PublishedPort is left out, so each node picks a free port for each task: a fixed port would let at
        # most one task of the version run per node. The port is read back from every task's PortStatus.
        ports = [{"Protocol": "tcp", "TargetPort": spec.port, "PublishMode": "host"}] if spec.port else []
        data = {
            "Name": spec.name,
            "Labels": spec.labels,
            "TaskTemplate": template,
            "Mode": ServiceMode("replicated", replicas=replicas),
            "EndpointSpec": {"Mode": "dnsrr", "Ports": ports},
        }
        headers = {}
        if spec.auth:
            # Sent with the service (like `--with-registry-auth`), so every node pulls with it. The SDK's
            # create_service only takes credentials from a docker config file, hence the direct call.
            headers["X-Registry-Auth"] = docker.auth.encode_header(
                {"username": spec.auth.username, "password": spec.auth.password, "serveraddress": registry_of(image)}
            )
        api = self.client.api
        self._call(
            "create a Swarm service",
            lambda: api._result(api._post_json(api._url("/services/create"), data=data, headers=headers), True),
        )

    def version_scale(self, name: str, replicas: int) -> None:
        """Set the number of tasks; the stored registry credentials are kept for the new tasks' pulls."""
        api = self.client.api
        for _attempt in range(3):
            try:
                service = self._call("inspect a Swarm service", api.inspect_service, name)
            except docker_errors.NotFound as exc:
                raise RuntimeFailure(f"Swarm service {name} does not exist", reason="VersionNotFound") from exc
            try:
                self._call(
                    "scale a Swarm service", api.update_service, service["ID"], service["Version"]["Index"],
                    mode=ServiceMode("replicated", replicas=replicas), fetch_current_spec=True,
                )  # fmt: skip
                return
            except docker_errors.APIError as exc:
                if "update out of sequence" not in str(exc.explanation or exc):
                    raise RuntimeFailure(f"scaling Swarm service {name} failed: {exc.explanation}") from exc
        raise RuntimeFailure(f"scaling Swarm service {name} kept conflicting with other updates; try again")

    def version_remove(self, name: str) -> None:
        """Remove the service; Swarm stops its tasks (each with its stop grace period). Missing is success."""
        try:
            self._call("remove a Swarm service", self.client.api.remove_service, name)
        except docker_errors.NotFound:
            return
        except docker_errors.APIError as exc:
            if exc.status_code == 404:
                return
            raise RuntimeFailure(f"removing Swarm service {name} failed: {exc.explanation or exc}") from exc

    def versions(self, labels: dict[str, str]) -> list[VersionState]:
        """Every version service carrying all of `labels` (a value of "" matches any value), in one call."""
        raw = self._call("list Swarm services", self.client.api.services, filters=_labels_filter(labels))
        return [version_state(entry) for entry in raw]

    def _version_get(self, name: str) -> VersionState | None:
        try:
            return version_state(self._call("inspect a Swarm service", self.client.api.inspect_service, name))
        except docker_errors.NotFound:
            return None

    def _missing(self, name: str):
        raise RuntimeFailure(f"Swarm service {name} vanished right after it was created", reason="VersionNotFound")

    # --- tasks ------------------------------------------------------------------------------------------

    def tasks(self, labels: dict[str, str], *, current_only: bool = False) -> list[TaskState]:
        """Every task of the services carrying `labels`: two calls (services, then their tasks), plus a node
        listing when a task runs on a node not seen before. With `current_only`, only tasks Swarm wants
        running (no history of replaced or failed ones)."""
        services = {s["ID"]: s for s in self._call("list Swarm services", self.client.api.services,
                                                    filters=_labels_filter(labels))}  # fmt: skip
        if not services:
            return []
        filters: dict = {"service": list(services)}
        if current_only:
            filters["desired-state"] = "running"
        raw = self._call("list Swarm tasks", self.client.api.tasks, filters=filters)
        tasks = [
            task_state(entry, services.get(entry.get("ServiceID", "")), self._node_address(entry.get("NodeID", "")))
            for entry in raw
        ]
        return sorted(tasks, key=lambda t: (t.service_name, t.slot or 0, t.created_at))

    def task_logs(self, task: TaskState, *, tail: int = 100, timeout: float = 10) -> str:
        """The task's output (stdout and stderr), read through the manager's task-logs endpoint.

        Works while the task's node is connected and logs with json-file or journald. When the node is down
        this raises RuntimeFailure (reason LogsUnavailable) at once; when it stops answering before the
        manager notices, after `timeout` seconds of silence (the SDK's log calls would wait forever there)."""
        node = next((n for n in self.nodes() if n.id == task.node_id), None)
        if node is None or node.state != "ready":
            where = f"node {node.hostname}, which is {node.state}" if node else "a node that left the cluster"
            raise RuntimeFailure(f"the logs of task {task.id} are on {where}", reason="LogsUnavailable")
        api = self.client.api
        params = {"stdout": 1, "stderr": 1, "tail": tail, "timestamps": 0, "follow": 0, "details": 0}
        try:
            # A plain (buffered) GET keeps the client's read timeout, which the SDK drops for log streams.
            response = api._get(api._url("/tasks/{0}/logs", task.id), params=params, timeout=timeout)
            api._raise_for_status(response)
            return b"".join(api._multiplexed_buffer_helper(response)).decode(errors="replace")
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            # requests reports a read timeout inside the body as a ConnectionError wrapping urllib3's ReadTimeoutError.
            if not isinstance(exc, requests.exceptions.Timeout) and "timed out" not in str(exc).lower():
                raise HostUnreachable(
                    f"cannot reach the Swarm manager at {self.url} while reading logs: {exc}"
                ) from exc
            raise RuntimeFailure(
                f"node {node.hostname} did not send the logs of task {task.id} within {timeout:g}s: it may be cut off",
                reason="LogsUnavailable",
            ) from exc
        except docker_errors.NotFound:
            return ""
        except docker_errors.APIError as exc:
            raise RuntimeFailure(f"reading logs of task {task.id} failed: {exc.explanation or exc}") from exc
        except (docker_errors.DockerException, OSError) as exc:
            raise HostUnreachable(f"cannot reach the Swarm manager at {self.url} while reading logs: {exc}") from exc

    def task_error(self, task: TaskState, *, auth: RegistryAuth | None = None) -> RuntimeFailure | None:
        """The domain error a failed or rejected task stands for, or None when the task has no error.

        A node that cannot pull only logs why and then reports "No such image" (Swarm's executor goes on
        with whatever image it has): with the version's `auth`, the manager asks the registry again, so
        refused credentials come out as RegistryAuthFailed rather than a missing image."""
        text = task.error
        if not text:
            return None
        reference = task.image.split("@", 1)[0]
        registry = registry_of(reference) if task.image else "the registry"
        if "no such image" in text.lower() and auth is not None:
            try:
                self.resolve_image(reference, auth)
            except RegistryAuthFailed as exc:
                return RegistryAuthFailed(f"{exc} (a cluster node could not pull it: {text})")
            except RuntimeFailure:
                pass
        if _auth_text(text, _TASK_AUTH_MARKERS):
            return RegistryAuthFailed(
                f"registry {registry} refused the credentials for {task.image} on a cluster node: check dockerAuth "
                f"or the saved registry credential ({text})"
            )
        if "no such image" in text.lower():
            return ImageNotFound(
                f"a cluster node could not get image {task.image} from registry {registry}: check that every node "
                f"reaches the registry and that the credentials are right ({text})"
            )
        return RuntimeFailure(f"task {task.id} failed: {text}", reason="TaskFailed")
