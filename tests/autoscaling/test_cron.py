"""deployments.autoscaling.cron: scheduled scaling (reference §5.2) and its floor rule."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.autoscaling.cron import (
    CronScaler,
    ScaleJob,
    active,
    due,
    floor_at,
    is_excluded,
    next_fire,
    parse_cronscaler,
    previous_fire,
    schedule_problem,
    upcoming,
)
from deployments.autoscaling.decide import Floor, Observation, ScalerState, decide
from deployments.autoscaling.policy import Policy, Strategy

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def job(schedule="0 0 8 * * *", target=10, zone=None, name="morning") -> ScaleJob:
    return ScaleJob(name, schedule, target, zone)


def scaler(*jobs: ScaleJob, exclude=()) -> CronScaler:
    return CronScaler(tuple(jobs), tuple(exclude))


# --- the schedule ---------------------------------------------------------------------------------


def test_the_leading_field_is_seconds():
    fire = next_fire(scaler(), job("30 15 8 * * *"), utc(2026, 1, 1))

    assert fire == utc(2026, 1, 1, 8, 15, 30)


def test_a_seconds_step_fires_within_the_minute():
    every_20s = job("*/20 * * * * *")
    first = next_fire(scaler(), every_20s, utc(2026, 1, 1, 0, 0, 5))

    assert first == utc(2026, 1, 1, 0, 0, 20)
    assert next_fire(scaler(), every_20s, first) == utc(2026, 1, 1, 0, 0, 40)


def test_the_next_fire_is_strictly_after_the_instant_given():
    assert next_fire(scaler(), job(), utc(2026, 1, 1, 8)) == utc(2026, 1, 2, 8)


def test_the_previous_fire_includes_the_instant_given():
    assert previous_fire(scaler(), job(), utc(2026, 1, 1, 8)) == utc(2026, 1, 1, 8)
    assert previous_fire(scaler(), job(), utc(2026, 1, 1, 7, 59, 59)) == utc(2025, 12, 31, 8)


def test_the_schedule_reads_in_the_jobs_time_zone():
    fire = next_fire(scaler(), job(zone="Asia/Shanghai"), utc(2025, 12, 31, 12))

    assert fire == utc(2026, 1, 1, 0)  # 08:00 in Shanghai (UTC+8)
    assert fire.tzinfo == SHANGHAI


def test_without_a_time_zone_the_schedule_is_utc():
    assert next_fire(scaler(), job(), utc(2026, 1, 1)).utcoffset() == timedelta(0)


def test_the_same_wall_clock_time_follows_daylight_saving():
    ny = job(zone="America/New_York")

    before = next_fire(scaler(), ny, utc(2026, 3, 7))
    after = next_fire(scaler(), ny, utc(2026, 3, 9))

    assert (before, after) == (utc(2026, 3, 7, 13), utc(2026, 3, 9, 12))  # EST then EDT


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="time zone-aware"):
        next_fire(scaler(), job(), datetime(2026, 1, 1))


# --- excluded dates ---------------------------------------------------------------------------------


def test_an_excluded_date_is_skipped():
    christmas_off = scaler(exclude=["* * * 25 12 *"])

    assert next_fire(christmas_off, job(), utc(2026, 12, 24, 9)) == utc(2026, 12, 26, 8)
    assert previous_fire(christmas_off, job(), utc(2026, 12, 25, 23)) == utc(2026, 12, 24, 8)


def test_excluding_weekends_moves_a_friday_evening_to_monday():
    weekdays = scaler(exclude=["* * * * * 6,0"])

    assert next_fire(weekdays, job(), utc(2026, 1, 2, 9)) == utc(2026, 1, 5, 8)  # Friday 2 Jan 2026 → Monday


def test_excluded_dates_are_read_in_the_jobs_time_zone():
    # 07:00 in Shanghai is 23:00 UTC the day before: the Shanghai date is the one that counts.
    early = job("0 0 7 * * *", zone="Asia/Shanghai")
    christmas_off = scaler(exclude=["* * * 25 12 *"])

    fire = next_fire(christmas_off, early, utc(2026, 12, 24, 0))

    assert fire == datetime(2026, 12, 26, 7, tzinfo=SHANGHAI)
    assert fire.astimezone(UTC).date() == date(2026, 12, 25)


def test_an_exclusion_counts_for_a_whole_day_whatever_its_time_fields():
    assert is_excluded(scaler(exclude=["0 0 12 25 12 *"]), date(2026, 12, 25), SHANGHAI)
    assert not is_excluded(scaler(exclude=["0 0 12 25 12 *"]), date(2026, 12, 24), SHANGHAI)
    assert is_excluded(scaler(exclude=["0 0 0 25 12 *"]), date(2026, 12, 25), SHANGHAI)  # its first second


def test_a_job_excluded_on_every_date_never_fires():
    always_off = scaler(exclude=["* * * * * *"])

    assert next_fire(always_off, job(), utc(2026, 1, 1)) is None
    assert previous_fire(always_off, job(), utc(2026, 1, 1)) is None


def test_a_per_second_job_skips_an_excluded_day_without_walking_it():
    every_second = job("* * * * * *")

    fire = next_fire(scaler(exclude=["* * * 2 1 *"]), every_second, utc(2026, 1, 1, 23, 59, 59))

    assert fire == utc(2026, 1, 3)


# --- due jobs, the job in force, the next change ----------------------------------------------------

MORNING = job("0 0 8 * * *", 10, name="morning")
EVENING = job("0 0 20 * * *", 2, name="evening")
DAY_NIGHT = scaler(MORNING, EVENING)


def test_due_lists_the_jobs_that_fired_between_two_instants():
    fires = due(DAY_NIGHT, utc(2026, 1, 1, 7), utc(2026, 1, 1, 21))

    assert [(f.job.name, f.at) for f in fires] == [("morning", utc(2026, 1, 1, 8)), ("evening", utc(2026, 1, 1, 20))]


def test_due_excludes_the_start_and_includes_the_end():
    assert due(DAY_NIGHT, utc(2026, 1, 1, 8), utc(2026, 1, 1, 12)) == []
    assert [f.job.name for f in due(DAY_NIGHT, utc(2026, 1, 1, 7), utc(2026, 1, 1, 8))] == ["morning"]


def test_due_skips_excluded_dates():
    holiday = scaler(MORNING, EVENING, exclude=["* * * 1 1 *"])

    assert due(holiday, utc(2026, 1, 1), utc(2026, 1, 1, 23)) == []


@pytest.mark.parametrize(
    ("now", "name", "target"),
    [
        (utc(2026, 1, 1, 12), "morning", 10),
        (utc(2026, 1, 1, 21), "evening", 2),
        (utc(2026, 1, 2, 7, 59, 59), "evening", 2),  # until the next job fires
        (utc(2026, 1, 2, 8), "morning", 10),
    ],
)
def test_the_job_that_fired_last_is_in_force_until_the_next_fires(now, name, target):
    assert floor_at(DAY_NIGHT, now) == Floor(target, f"cron job '{name}'")
    assert active(DAY_NIGHT, now).job.name == name


def test_nothing_is_in_force_before_the_config_was_set():
    set_at = utc(2026, 1, 1, 9)

    assert floor_at(DAY_NIGHT, utc(2026, 1, 1, 12), since=set_at) is None
    assert floor_at(DAY_NIGHT, utc(2026, 1, 1, 21), since=set_at) == Floor(2, "cron job 'evening'")


def test_upcoming_is_when_the_floor_in_force_ends():
    fire = upcoming(DAY_NIGHT, utc(2026, 1, 1, 12))

    assert (fire.job.name, fire.at) == ("evening", utc(2026, 1, 1, 20))


def test_of_two_jobs_at_one_instant_the_later_listed_wins():
    first, second = job(name="a", target=3), job(name="b", target=7)

    assert active(scaler(first, second), utc(2026, 1, 1, 9)).job.name == "b"
    assert due(scaler(first, second), utc(2026, 1, 1), utc(2026, 1, 1, 9))[-1].job.name == "b"


def test_the_morning_floor_lifts_the_autoscaler_and_the_evening_one_lets_it_fall():
    policy = Policy(1, 8, (Strategy("qps", 10),))
    quiet = Observation(2, {"qps": [1.0, 1.0]})

    morning = decide(policy, quiet, ScalerState(), 0, floor_at(DAY_NIGHT, utc(2026, 1, 1, 9)))
    assert (morning.desired, morning.low, morning.high) == (10, 10, 10)  # target above max raises max
    assert morning.message.endswith("(the metrics ask for 1; floor 10 from cron job 'morning')")

    evening = decide(
        policy, Observation(10, {"qps": [1.0] * 10}), ScalerState(), 0, floor_at(DAY_NIGHT, utc(2026, 1, 1, 21))
    )
    assert (evening.desired, evening.low) == (2, 2)


# --- validation ---------------------------------------------------------------------------------------

VALID = {
    "ScaleJobs": [
        {"Name": "scale-up", "Schedule": "0 0 8 * * *", "TargetSize": 10, "TimeZone": "Asia/Shanghai"},
        {"Name": "scale-down", "Schedule": "0 0 20 * * *", "TargetSize": 2},
    ],
    "ExcludeDates": ["* * * 1 10 *"],
}


def errors(data) -> dict[str, str]:
    parsed = parse_cronscaler(data)
    assert parsed.cronscaler is None
    return {issue["path"]: issue["message"] for issue in parsed.errors}


def with_job(**keys) -> dict:
    return {"ScaleJobs": [{"Name": "scale-up", "Schedule": "0 0 8 * * *", "TargetSize": 10, **keys}]}


def test_it_reads_the_documented_example():
    parsed = parse_cronscaler(VALID)

    assert parsed.errors == []
    assert parsed.cronscaler == CronScaler(
        (ScaleJob("scale-up", "0 0 8 * * *", 10, "Asia/Shanghai"), ScaleJob("scale-down", "0 0 20 * * *", 2)),
        ("* * * 1 10 *",),
    )


def test_a_five_field_schedule_is_refused_with_the_fields_it_needs():
    assert errors(with_job(Schedule="0 8 * * *")) == {
        "cronscaler.ScaleJobs[0].Schedule": (
            "job 'scale-up': must have 6 fields (second minute hour day-of-month month day-of-week), not 5; "
            'e.g. "0 0 8 * * *" for 08:00:00 every day'
        )
    }


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ("60 0 8 * * *", "the second field '60'"),
        ("0 0 24 * * *", "the hour field '24'"),
        ("0 0 8 32 * *", "the day of month field '32'"),
        ("0 0 8 * 13 *", "the month field '13'"),
        ("0 0 8 * * FUNDAY", "the day of week field 'FUNDAY'"),
    ],
)
def test_a_bad_field_is_named(schedule, field):
    message = errors(with_job(Schedule=schedule))["cronscaler.ScaleJobs[0].Schedule"]

    assert message.startswith(f"job 'scale-up': {field} is not valid: values are ")


def test_a_schedule_that_never_fires_is_refused():
    assert schedule_problem("0 0 8 30 2 *") == (
        "never fires: no date matches its day and month fields (such as 30 February)"
    )
    assert schedule_problem("0 0 0 29 2 *") is None  # leap days do come


def test_croniter_shorthands_and_hashes_are_not_eas_schedules():
    assert schedule_problem("@daily").startswith("must have 6 fields")
    assert schedule_problem("H 0 8 * * *").startswith("the second field 'H' is not valid")


def test_an_unknown_time_zone_is_refused_with_a_suggestion():
    assert errors(with_job(TimeZone="Asia/shanghai")) == {
        "cronscaler.ScaleJobs[0].TimeZone": (
            "job 'scale-up': must be an IANA time zone such as Asia/Shanghai or Europe/Berlin; "
            "did you mean 'Asia/Shanghai'?"
        )
    }


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../../etc/passwd", "/usr/share/zoneinfo/UTC", 8])
def test_anything_but_an_iana_name_is_refused_as_a_time_zone(zone):
    assert "cronscaler.ScaleJobs[0].TimeZone" in errors(with_job(TimeZone=zone))


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (-1, "must be an integer of at least 0"),
        ("3", "must be an integer of at least 0"),
        (2.0, "must be an integer of at least 0"),
    ],
)
def test_target_size_is_a_count(size, message):
    assert errors(with_job(TargetSize=size)) == {"cronscaler.ScaleJobs[0].TargetSize": f"job 'scale-up': {message}"}


def test_a_job_without_a_name_is_named_by_its_position():
    found = errors({"ScaleJobs": [VALID["ScaleJobs"][0], {"Schedule": "0 0 20 * * *"}]})

    assert found == {
        "cronscaler.ScaleJobs[1].Name": "job 2: required: a name",
        "cronscaler.ScaleJobs[1].TargetSize": "job 2: required: the instance count to set",
    }


def test_job_names_are_unique():
    twice = {"ScaleJobs": [VALID["ScaleJobs"][0], VALID["ScaleJobs"][0]]}

    assert errors(twice) == {
        "cronscaler.ScaleJobs[1].Name": "job 'scale-up': the name is already used by ScaleJobs[0]; names must be unique"
    }


def test_unknown_keys_get_a_suggestion():
    found = errors({**with_job(Timezone="UTC"), "ExcludeDate": []})

    assert found == {
        "cronscaler.ExcludeDate": "unknown key 'ExcludeDate'; did you mean 'ExcludeDates'?",
        "cronscaler.ScaleJobs[0].Timezone": "job 'scale-up': unknown key 'Timezone'; did you mean 'TimeZone'?",
    }


def test_a_bad_excluded_date_is_reported_at_its_index():
    found = errors({**VALID, "ExcludeDates": ["* * * 1 10 *", "* * 1 10 *"]})

    assert list(found) == ["cronscaler.ExcludeDates[1]"]


@pytest.mark.parametrize("data", [None, [], {"ScaleJobs": {}}, {"ScaleJobs": [3]}, {"ExcludeDates": "x"}])
def test_it_never_raises_on_malformed_input(data):
    assert parse_cronscaler(data).errors


# --- properties ---------------------------------------------------------------------------------------

instants = st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1), timezones=st.just(UTC))
zones = st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"])


@st.composite
def daily_jobs(draw) -> ScaleJob:
    # From 04:00: these zones change their clocks earlier in the night, and a skipped wall-clock time
    # fires at the end of the gap (see the module), which this property does not model.
    second, minute, hour = draw(st.integers(0, 59)), draw(st.integers(0, 59)), draw(st.integers(4, 23))
    return ScaleJob("j", f"{second} {minute} {hour} * * *", 1, draw(zones))


@settings(max_examples=150, deadline=None)
@given(daily_jobs(), instants)
def test_the_next_fire_comes_after_the_instant_at_the_scheduled_wall_clock_second(j, after):
    fire = next_fire(scaler(), j, after)

    assert after < fire <= after + timedelta(days=2)
    second, minute, _hour = (int(x) for x in j.schedule.split()[:3])
    assert (fire.second, fire.minute) == (second, minute)
    # Nothing fires in between: the previous fire before it is at or before `after`.
    assert previous_fire(scaler(), j, fire - timedelta(seconds=1)) <= after


@settings(max_examples=100, deadline=None)
@given(daily_jobs(), instants, st.integers(0, 6))
def test_no_fire_ever_lands_on_an_excluded_weekday(j, after, weekday):
    excluded = scaler(exclude=[f"* * * * * {(weekday + 1) % 7}"])  # cron counts from Sunday, Python from Monday

    fire = next_fire(excluded, j, after)

    assert fire.weekday() != weekday
