"""The containers of one instance: image, entry command, port, environment, probes."""

from typing import Annotated, ClassVar, Literal

from deployments.spec.model.base import SpecModel, bounded_int, opt, req, with_message
from deployments.spec.model.leaves import AbsPath, Command, EnvName, Image, JsonObject, Port, ProbePort, Text


class EnvVar(SpecModel):
    name: EnvName = req("Variable name.")
    value: str = req("Variable value, a string (quote numbers).")


class Prepare(SpecModel):
    pythonRequirements: list[Text] = opt('pip packages installed before start, e.g. ["numpy==1.26.4"].')
    pythonRequirementsPath: Text = opt("Path of a requirements.txt inside the container, e.g. on a mounted volume.")


class TcpSocket(SpecModel):
    port: ProbePort = opt("Port to connect to; default: the container's port.")


class HttpGet(SpecModel):
    path: AbsPath = req("Probe path, e.g. /health. A 2xx or 3xx response passes.")
    port: ProbePort = opt("Probe port; default: the container's port.")
    scheme: Annotated[Literal["HTTP", "HTTPS"], with_message('must be "HTTP" or "HTTPS"')] = opt("HTTP or HTTPS.")


class Exec(SpecModel):
    command: list[str] = req("Command run inside the container; exit code 0 passes.", min_length=1)


class Probe(SpecModel):
    """A Kubernetes-style probe: exactly one of tcp_socket, http_get, exec, plus timings."""

    tcp_socket: TcpSocket = opt("Pass when a TCP connection succeeds.")
    http_get: HttpGet = opt("Pass on a 2xx/3xx response.")
    exec: Exec = opt("Pass when the command exits with 0.")
    initial_delay_seconds: bounded_int(0) = opt("Delay before the first probe (guide default 3).")
    period_seconds: bounded_int(1) = opt("Probe interval (guide default 3).")
    timeout_seconds: bounded_int(1) = opt("Probe timeout (default 1).")
    success_threshold: bounded_int(1) = opt("Consecutive successes needed (default 1).")
    failure_threshold: bounded_int(1) = opt(
        "Consecutive failures before the instance is unready or restarted (default 3)."
    )


class Container(SpecModel):
    berth_aliases: ClassVar[tuple[str, ...]] = ("readiness_check",)

    image: Image = req("Image reference, e.g. registry.example.com/team/app:1.0.")
    env: list[EnvVar] = opt("Environment variables: [{name, value}].")
    command: Command = opt("Entry command: a single command, no shell features. Give command or script.")
    script: Text = opt("Shell script, lines separated by newlines or ';'. Give command or script.")
    args: list[str] = opt("Arguments.")
    port: Port = opt(
        "Port the server listens on; it receives the gateway's traffic. Not 8080 or 9090 (reserved)."
        " Exactly one container sets it."
    )
    prepare: Prepare = opt("Steps before start: pip requirements.")
    health_check: Probe = opt("Readiness probe (alias readiness_check). Default: TCP check on port.")
    liveness_check: Probe = opt("Liveness probe: the container restarts when it fails.")
    startup_check: Probe = opt("Startup probe: other probes wait until it passes.")
    resources: JsonObject = opt("Per-container share of the instance's resources (multi-container instances).")
