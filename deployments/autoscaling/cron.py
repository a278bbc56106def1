"""The cron scaler (`cronscaler`, reference §5.2): scheduled instance counts, and how they meet the autoscaler.

```json
{"ScaleJobs": [{"Name": "morning", "Schedule": "0 0 8 * * *", "TargetSize": 10, "TimeZone": "Asia/Shanghai"},
               {"Name": "evening", "Schedule": "0 0 20 * * *", "TargetSize": 2}],
 "ExcludeDates": ["* * * 1 10 *"]}
```

* `Schedule`: 6 fields with a LEADING seconds field (second minute hour day-of-month
  month day-of-week), parsed by croniter with `second_at_beginning=True`; names
  (MON, JAN), ranges, lists and steps as in standard cron; when both day fields are
  restricted a day matching either fires (standard cron's rule).
* `TimeZone`: an IANA name (zoneinfo); absent means UTC. A wall-clock time skipped by
  a DST change fires at the first instant after the gap; a repeated one fires twice
  (both times set the same size, so this is harmless).
* `ExcludeDates`: cron expressions in the same 6-field form, read at day granularity:
  a job does not fire on a date (in the job's own time zone) on which the expression
  matches any instant, so `"* * * 1 10 *"` skips 1 October and `"* * * * * 6,0"` skips
  weekends.

The rule with the autoscaler (EAS documents none; reference §5.2 suggests the cron
target override min, as ACK's CronHPA adjusts an HPA's bounds): the job that fired last
sets a floor until the next job fires. The autoscaler's min is raised to the floor (and its max too, if the floor is
above it), so metrics can still add instances above it. Without an autoscaler the floor
is simply the instance count. Pure: no Django, no I/O.
"""

import difflib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadDateError, CroniterError, croniter

from deployments.autoscaling.decide import Floor
from deployments.autoscaling.policy import Issue, Loc, format_path

DEFAULT_TIME_ZONE = "UTC"
FIELDS = ("second", "minute", "hour", "day of month", "month", "day of week")
_RANGES = ("0-59", "0-59", "0-23", "1-31 or L", "1-12 or JAN-DEC", "0-7 or SUN-SAT (0 and 7 are Sunday)")
# Excluded days skipped in a row before a search gives up (a job excluded on every date never fires).
MAX_SKIPPED_DAYS = 1000
_EXAMPLE = 'e.g. "0 0 8 * * *" for 08:00:00 every day'


@dataclass(frozen=True)
class ScaleJob:
    name: str
    schedule: str
    target: int
    time_zone: str | None = None  # as given; None = DEFAULT_TIME_ZONE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or DEFAULT_TIME_ZONE)


@dataclass(frozen=True)
class CronScaler:
    jobs: tuple[ScaleJob, ...] = ()
    exclude_dates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fire:
    job: ScaleJob
    at: datetime  # aware, in the job's time zone


@dataclass
class ParsedCron:
    cronscaler: CronScaler | None  # set only when there are no errors
    errors: list[Issue]

    @property
    def ok(self) -> bool:
        return self.cronscaler is not None


# --- validation ---------------------------------------------------------------------------------

_TOP_KEYS = ("ScaleJobs", "ExcludeDates")
_JOB_KEYS = ("Name", "Schedule", "TargetSize", "TimeZone")


def schedule_problem(expression: object) -> str | None:
    """Why `expression` is not a 6-field, seconds-first cron that fires, or None if it is."""
    if not isinstance(expression, str):
        return f"must be a string: a 6-field cron expression with a leading seconds field, {_EXAMPLE}"
    fields = expression.split()
    if len(fields) != 6:
        return f"must have 6 fields (second minute hour day-of-month month day-of-week), not {len(fields)}; {_EXAMPLE}"
    if not _valid(" ".join(fields)):
        # Find the culprit by trying each field alone, the others left as "*".
        for i, (name, value) in enumerate(zip(FIELDS, fields, strict=True)):
            if not _valid(" ".join(value if j == i else "*" for j in range(6))):
                return f"the {name} field '{value}' is not valid: values are {_RANGES[i]}, with *, lists, ranges, steps"
        return f"is not a valid cron expression; {_EXAMPLE}"
    try:
        _iter(" ".join(fields), datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))).get_next()
    except CroniterBadDateError:
        return "never fires: no date matches its day and month fields (such as 30 February)"
    return None


def _valid(expression: str) -> bool:
    try:
        croniter.expand(expression, second_at_beginning=True)
    except (CroniterError, ValueError):
        return False
    return True


def zone_problem(name: object) -> str | None:
    """Why `name` is not an IANA time zone, or None."""
    if isinstance(name, str) and name and not name.startswith("/") and ".." not in name:
        try:
            ZoneInfo(name)
            return None
        except (ZoneInfoNotFoundError, ValueError):
            pass
    close = difflib.get_close_matches(name, _zones(), n=1, cutoff=0.8) if isinstance(name, str) else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"must be an IANA time zone such as Asia/Shanghai or Europe/Berlin{hint}"


@cache
def _zones() -> list[str]:
    return sorted(available_timezones())


def parse_cronscaler(data: object, *, at: Loc = ("cronscaler",)) -> ParsedCron:
    """Read a cronscaler config. Never raises for bad input; errors name the job and the field."""
    errors: list[Issue] = []

    def fail(loc: Loc, message: str) -> None:
        errors.append({"path": format_path(loc), "message": message})

    if not isinstance(data, dict):
        fail(at, 'must be an object: {"ScaleJobs": [...], "ExcludeDates": [...]}')
        return ParsedCron(None, errors)
    for key in data:
        if key not in _TOP_KEYS:
            fail((*at, key), _unknown(key, _TOP_KEYS))
    jobs: list[ScaleJob] = []
    listed = data.get("ScaleJobs", [])
    if not isinstance(listed, list):
        fail((*at, "ScaleJobs"), 'must be an array of jobs: [{"Name", "Schedule", "TargetSize", "TimeZone"}]')
        listed = []
    names: dict[str, int] = {}
    for i, item in enumerate(listed):
        loc = (*at, "ScaleJobs", i)
        if not isinstance(item, dict):
            fail(loc, 'must be an object: {"Name", "Schedule", "TargetSize", "TimeZone"}')
            continue
        name = item.get("Name")
        who = f"job '{name}'" if isinstance(name, str) and name else f"job {i + 1}"
        for key in item:
            if key not in _JOB_KEYS:
                fail((*loc, key), f"{who}: {_unknown(key, _JOB_KEYS)}")
        before = len(errors)
        if not isinstance(name, str) or not name.strip():
            fail((*loc, "Name"), f"{who}: " + ("must be a non-empty string" if "Name" in item else "required: a name"))
        elif name in names:
            fail((*loc, "Name"), f"{who}: the name is already used by ScaleJobs[{names[name]}]; names must be unique")
        else:
            names[name] = i
        if "Schedule" not in item:
            fail((*loc, "Schedule"), f"{who}: required: when to run, {_EXAMPLE}")
        elif problem := schedule_problem(item["Schedule"]):
            fail((*loc, "Schedule"), f"{who}: {problem}")
        size = item.get("TargetSize")
        if type(size) is not int or size < 0:
            what = "must be an integer of at least 0" if "TargetSize" in item else "required: the instance count to set"
            fail((*loc, "TargetSize"), f"{who}: {what}")
        if "TimeZone" in item and (problem := zone_problem(item["TimeZone"])):
            fail((*loc, "TimeZone"), f"{who}: {problem}")
        if len(errors) == before:
            schedule = " ".join(item["Schedule"].split())
            jobs.append(ScaleJob(name, schedule, size, item.get("TimeZone")))
    excluded = data.get("ExcludeDates", [])
    if not isinstance(excluded, list):
        fail((*at, "ExcludeDates"), 'must be an array of cron expressions, e.g. ["* * * 1 10 *"]')
        excluded = []
    for i, expression in enumerate(excluded):
        if problem := schedule_problem(expression):
            fail((*at, "ExcludeDates", i), problem)
    if errors:
        return ParsedCron(None, errors)
    return ParsedCron(CronScaler(tuple(jobs), tuple(" ".join(e.split()) for e in excluded)), [])


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if match:
        return f"unknown key '{key}'; did you mean '{match[0]}'?"
    return f"unknown key '{key}'; the keys allowed here are {', '.join(allowed)}"


# --- time ---------------------------------------------------------------------------------------


def _iter(expression: str, start: datetime) -> croniter:
    return croniter(expression, start, ret_type=datetime, second_at_beginning=True)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a time zone-aware datetime is needed: a naive one has no single instant")
    return instant


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def is_excluded(cronscaler: CronScaler, day: date, zone: ZoneInfo) -> bool:
    """Whether some ExcludeDates expression matches an instant of `day` (a calendar date in `zone`)."""
    start, end = _day_start(day, zone), _day_start(day + timedelta(days=1), zone)
    for expression in cronscaler.exclude_dates:
        try:
            # get_next is strictly after its start: begin one second early so 00:00:00 itself counts.
            if _iter(expression, start - timedelta(seconds=1)).get_next() < end:
                return True
        except CroniterBadDateError:
            continue
    return False


def next_fire(cronscaler: CronScaler, job: ScaleJob, after: datetime) -> datetime | None:
    """The first time strictly after `after` at which `job` fires (excluded dates skipped); None = never."""
    zone = job.zone
    start = _aware(after).astimezone(zone)
    for _ in range(MAX_SKIPPED_DAYS):
        try:
            fire = _iter(job.schedule, start).get_next()
        except CroniterBadDateError:
            return None
        if not is_excluded(cronscaler, fire.date(), zone):
            return fire
        # The whole day is excluded: continue from its last second, not fire by fire.
        start = _day_start(fire.date() + timedelta(days=1), zone) - timedelta(seconds=1)
    return None


def previous_fire(cronscaler: CronScaler, job: ScaleJob, until: datetime) -> datetime | None:
    """The last time at or before `until` at which `job` fired (excluded dates skipped); None = never."""
    zone = job.zone
    # get_prev is strictly before its start: a microsecond later makes `until` itself count.
    start = _aware(until).astimezone(zone) + timedelta(microseconds=1)
    for _ in range(MAX_SKIPPED_DAYS):
        try:
            fire = _iter(job.schedule, start).get_prev()
        except CroniterBadDateError:
            return None
        if not is_excluded(cronscaler, fire.date(), zone):
            return fire
        start = _day_start(fire.date(), zone)
    return None


def due(cronscaler: CronScaler, after: datetime, until: datetime) -> list[Fire]:
    """The jobs that fire in (after, until], each at its last time there, oldest first.

    For a periodic tick: the last entry is the one in force at `until`. Ties (two jobs at
    one instant) keep ScaleJobs order, so the later-listed job wins.
    """
    fires = []
    for job in cronscaler.jobs:
        fire = previous_fire(cronscaler, job, until)
        if fire is not None and fire > _aware(after):
            fires.append(Fire(job, fire))
    return sorted(fires, key=lambda f: f.at)  # stable: same-instant fires stay in job order


def active(cronscaler: CronScaler, now: datetime, since: datetime | None = None) -> Fire | None:
    """The fire in force at `now`: the latest at or before it (after `since`, e.g. when the config was set)."""
    fires = [Fire(job, fire) for job in cronscaler.jobs if (fire := previous_fire(cronscaler, job, now)) is not None]
    fires = [f for f in fires if since is None or f.at > _aware(since)]
    # Stable sort: of two jobs firing at one instant the later-listed wins, as in due().
    return sorted(fires, key=lambda f: f.at)[-1] if fires else None


def upcoming(cronscaler: CronScaler, now: datetime) -> Fire | None:
    """The next fire of any job strictly after `now`: when the floor in force ends."""
    fires = [Fire(job, fire) for job in cronscaler.jobs if (fire := next_fire(cronscaler, job, now)) is not None]
    return min(fires, key=lambda f: f.at, default=None)


def floor_at(cronscaler: CronScaler, now: datetime, since: datetime | None = None) -> Floor | None:
    """The floor for decide(): the target of the job in force at `now`, until the next job fires."""
    fire = active(cronscaler, now, since)
    if fire is None:
        return None
    return Floor(fire.job.target, f"cron job '{fire.job.name}'")
