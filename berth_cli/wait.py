"""Following a change on the server: `[OK] Waiting [Total…]` lines until the service runs, stops, fails or is gone."""

from __future__ import annotations

import time

from berth_cli.build_progress import BuildProgress
from berth_cli.client import ApiNotFound, Client, CliError, service_path
from berth_cli.output import say, warn

DEFAULT_WAIT = 600
POLL_INTERVAL = 0.5
FAILURE_LOG_LINES = 20
# Polling survives a short outage of the console (a restart) but not a long one.
POLL_ERRORS_TOLERATED = 10
RUNNING = "[OK] Service is running"

# Statuses after which nothing runs, so there is no rollout to watch.
IDLE_STATUSES = {"NotDeployed", "Stopped", "Stopping"}


def progress_line(detail: dict) -> str | None:
    status = detail.get("status")
    if status in IDLE_STATUSES or status in ("Deleting", "Failed"):
        return None
    counts = detail.get("counts") or {}
    if status == "Running" and not counts.get("pending"):
        return None  # e.g. a restart not yet picked up: nothing worth a line
    label = status if status in ("Updating", "Scaling") else "Waiting"
    return (
        f"[OK] {label} [Total: {counts.get('total', 0)}, Pending: {counts.get('pending', 0)}, "
        f"Running: {counts.get('running', 0)}]"
    )


def outcome(detail: dict, want: str) -> tuple[bool, str | None]:
    """(finished, failure reason). `want` is the service status that means success."""
    deployment = detail.get("deployment") or {}
    dep_status = deployment.get("status")
    if dep_status == "failed":
        return True, deployment.get("message") or detail.get("message") or "the deployment failed"
    if detail.get("status") == "Failed" and want != "Failed":
        return True, detail.get("message") or deployment.get("message") or "the service failed"
    if detail.get("status") != want:
        return False, None
    # Running is only the end once the deployment that was asked for finished (a restart keeps Running).
    if want == "Running" and dep_status in ("queued", "running"):
        return False, None
    return True, None


def wait_for(client: Client, name: str, first: dict, *, want: str, timeout: float, done: str) -> int:
    """Poll the service until its status is `want` and its latest deployment finished, printing a
    progress line each time it changes. Returns the exit code; prints the reason and the last
    log lines on failure."""
    deadline = time.monotonic() + timeout
    detail, last, errors = first, None, 0
    build = BuildProgress(client, name)
    while True:
        build.show(detail)
        finished, failure = outcome(detail, want)
        if finished:
            if failure:
                return report_failure(client, name, detail, failure)
            say(done)
            return 0
        line = progress_line(detail)
        if line and line != last:
            say(line)
            last = line
        if time.monotonic() > deadline:
            raise CliError(
                f"timed out after {timeout:g}s waiting for {name} (now {detail.get('status')}); "
                f"it goes on on the server: see `berth desc {name}`"
            )
        time.sleep(POLL_INTERVAL)
        try:
            detail = client.get(service_path(name))
            errors = 0
        except ApiNotFound:
            raise CliError(f"service {name} was deleted while waiting for it")
        except CliError:
            errors += 1
            if errors > POLL_ERRORS_TOLERATED:
                raise


def wait_gone(client: Client, name: str, *, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            detail = client.get(service_path(name))
        except ApiNotFound:
            say("[OK] Service was deleted successfully")
            return 0
        if detail.get("status") not in ("Deleting",):
            status, message = detail.get("status"), detail.get("message") or "no message"
            raise CliError(f"deleting {name} stopped: it is {status}: {message}")
        if time.monotonic() > deadline:
            raise CliError(f"timed out after {timeout:g}s waiting for {name} to be deleted; see `berth desc {name}`")
        time.sleep(POLL_INTERVAL)


def report_failure(client: Client, name: str, detail: dict, reason: str) -> int:
    warn(f"[FAILED] {reason}")
    try:
        instances = client.get(service_path(name, "instances")).get("results", [])
    except CliError:
        instances = []
    # The instances of the version that failed, the unready ones first.
    version = detail.get("latest_version")
    candidates = sorted((i for i in instances if i.get("version") == version), key=lambda i: bool(i.get("ready")))
    for instance in candidates[:1]:
        try:
            _, text = client.call(
                "GET", service_path(name, "logs"), query={"instance": instance["name"], "tail": FAILURE_LOG_LINES}
            )
        except CliError:
            continue
        lines = str(text or "").rstrip("\n").splitlines()[-FAILURE_LOG_LINES:]
        if lines:
            warn(f"Last {len(lines)} log lines of {instance['name']}:")
            for line in lines:
                warn(f"  {line}")
    return 1
