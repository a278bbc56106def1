"""Why a queued deployment is not moving: the words the console and the API show next to it.

A deploy is recorded in the database before its task goes to Redis; while Redis or the worker is
down it waits there (beat's reconcile, or the redelivered task, runs it once they are back). Read
from the worker's heartbeat (deployments/heartbeats.py), so it costs one Redis call with a 1 s timeout.
"""

import redis

from deployments.choices import DeploymentStatus
from deployments.heartbeats import heartbeats

REDIS_DOWN = "queued: Redis (the task queue) is not answering; the deploy runs once it is back"
WORKER_DOWN = "queued: the worker is not running; the deploy runs once it is back"


def queued_note(deployment) -> str:
    """'' unless `deployment` is queued and nothing can pick it up now; else what is missing."""
    if deployment is None or deployment.status != DeploymentStatus.QUEUED:
        return ""
    try:
        worker = heartbeats(["worker"])["worker"]
    except redis.RedisError:
        return REDIS_DOWN
    return "" if worker["fresh"] else WORKER_DOWN
