"""The gateway's request rates for the autoscaler: counters → rates, freshness."""

import json
import time

from deployments.gateway import rates


def test_the_rate_is_the_counter_growth_over_the_window():
    meter = rates.RateMeter(window=3)

    assert meter.add("svc", 0.0, 100) is None  # one reading: no rate yet
    assert meter.add("svc", 1.0, 110) == 10
    meter.add("svc", 2.0, 130)
    meter.add("svc", 3.0, 150)
    assert meter.add("svc", 4.0, 170) == 20  # (170 - 110) / 3: readings older than the window are dropped


def test_a_counter_that_went_down_restarts_the_rate_after_a_reload():
    meter = rates.RateMeter()
    meter.add("svc", 0.0, 500)

    assert meter.add("svc", 1.0, 3) is None
    assert meter.add("svc", 2.0, 8) == 5


def test_a_stale_published_rate_reads_as_unknown_not_as_zero(scaler_redis):
    scaler_redis.hset(rates.KEY, "svc", json.dumps({"qps": 7.5, "at": time.time() - 60}))
    scaler_redis.hset(rates.KEY, "fresh", json.dumps({"qps": 7.5, "at": time.time()}))

    assert rates.service_qps("svc") is None
    assert rates.service_qps("fresh") == 7.5
    assert rates.service_qps("absent") is None
