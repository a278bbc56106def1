"""Reading logs the way people read them: one instance or all of a service's, interleaved by time,
filtered, with or without timestamps.

Docker is always asked for timestamps (they are what interleaving sorts on); the caller decides
whether to show them.
"""

import re
import time
from dataclasses import dataclass

from deployments.engine import hosts
from deployments.models import Instance
from deployments.runtime import RuntimeFailure

# What the console and the API offer; "all" is Docker's own.
TAIL_CHOICES = (100, 200, 500, 1000, 5000)

DEFAULT_TAIL = 200

MAX_TAIL = 10000

# Label -> seconds back from now.
SINCE_CHOICES = {"5m": 300, "15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600}

# Docker's timestamp prefix: RFC 3339 with nanoseconds, a space, then the line.
_STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class LogOptions:
    """What to read: `tail` lines per instance (or "all"), only lines of the last `since` seconds,
    only lines containing `search` (case-insensitive, colour codes ignored), `timestamps` shown."""

    tail: int | str = DEFAULT_TAIL
    since: int | None = None
    search: str = ""
    timestamps: bool = False

    @classmethod
    def from_query(cls, query) -> "LogOptions":
        """From a request's GET parameters (tail, since, q, timestamps); bad values fall back to defaults."""
        raw_tail = str(query.get("tail", DEFAULT_TAIL)).strip().lower()
        if raw_tail == "all":
            tail: int | str = "all"
        else:
            try:
                tail = max(1, min(int(raw_tail), MAX_TAIL))
            except ValueError:
                tail = DEFAULT_TAIL
        raw_since = str(query.get("since", "")).strip().lower()
        since = SINCE_CHOICES.get(raw_since)
        if since is None and raw_since.isdigit():
            since = int(raw_since)
        timestamps = str(query.get("timestamps", "")).lower() in ("1", "true", "yes", "on")
        return cls(tail=tail, since=since, search=str(query.get("q", "")).strip(), timestamps=timestamps)

    def since_label(self) -> str:
        return next((label for label, seconds in SINCE_CHOICES.items() if seconds == self.since), "")


@dataclass(frozen=True)
class LogLine:
    instance: str
    timestamp: str
    text: str

    def render(self, *, timestamps: bool, with_instance: bool) -> str:
        """The line as plain text: `[instance] timestamp text`, each part only when asked."""
        parts = []
        if with_instance:
            parts.append(f"[{self.instance}]")
        if timestamps and self.timestamp:
            parts.append(self.timestamp)
        parts.append(self.text)
        return " ".join(parts)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse(raw: str, instance: str) -> list[LogLine]:
    """Docker's timestamped output as lines; a line without a stamp keeps the previous one."""
    lines = []
    last = ""
    for row in raw.splitlines():
        matched = _STAMPED.match(row)
        if matched:
            last, text = matched.group(1), matched.group(2)
        else:
            text = row
        lines.append(LogLine(instance=instance, timestamp=last, text=text))
    return lines


def _sort_key(line: LogLine) -> str:
    # RFC 3339 in UTC with a fixed-width fraction sorts as text; Docker always writes Z and 9 digits.
    return line.timestamp


def read(instances: list[Instance], options: LogOptions) -> tuple[list[LogLine], list[str]]:
    """(lines of every instance interleaved by time, one problem per instance that could not be read).

    The sort is stable, so one instance's lines keep their order when stamps are equal.
    """
    lines: list[LogLine] = []
    problems: list[str] = []
    since = int(time.time()) - options.since if options.since else None
    needle = options.search.lower()
    for instance in instances:
        if instance.host is None:
            problems.append(f"{instance.name}: not placed on a host yet")
            continue
        try:
            raw = hosts.host_runtime(instance.host).logs(instance.name, tail=options.tail, timestamps=True, since=since)
        except RuntimeFailure as exc:
            problems.append(f"{instance.name}: {exc}")
            continue
        for line in parse(raw, instance.name):
            if not needle or needle in strip_ansi(line.text).lower():
                lines.append(line)
    if len(instances) > 1:
        lines.sort(key=_sort_key)
    return lines, problems


def as_text(lines: list[LogLine], *, timestamps: bool, with_instance: bool, ansi: bool = False) -> str:
    """Plain text, one line each; colour codes stripped unless `ansi`."""
    rendered = (line.render(timestamps=timestamps, with_instance=with_instance) for line in lines)
    return "".join(f"{row if ansi else strip_ansi(row)}\n" for row in rendered)
