"""Build progress while waiting: the server's build events (deploy from code) printed as they come."""

from __future__ import annotations

import time

from berth_cli.client import Client, CliError, service_path
from berth_cli.output import say, warn

BUILD_REASONS = {"Building", "BuildProgress", "BuildCached", "Built", "BuildFailed"}
# Events are fetched at most this often (the status poll is faster).
EVENTS_INTERVAL = 1.0


class BuildProgress:
    """Prints each build event of the deployment being waited for, once, oldest first."""

    def __init__(self, client: Client, name: str):
        self.client, self.name = client, name
        self.seen: set[tuple] = set()
        self.next_poll = 0.0

    def show(self, detail: dict) -> None:
        """Print the build events newer than the latest deployment's start; never raises for the server."""
        since = str((detail.get("deployment") or {}).get("created_at") or "")
        if not since or time.monotonic() < self.next_poll:
            return
        self.next_poll = time.monotonic() + EVENTS_INTERVAL
        try:
            events = self.client.get(service_path(self.name, "events"), limit=50).get("results", [])
        except CliError:
            return  # progress is a nicety: the status poll reports real trouble
        for event in reversed(events):
            key = (event.get("time"), event.get("reason"), event.get("message"))
            if event.get("reason") not in BUILD_REASONS or str(event.get("time") or "") < since or key in self.seen:
                continue
            self.seen.add(key)
            line = f"[Build] {event.get('message', '')}"
            warn(line) if event.get("reason") == "BuildFailed" else say(line)
