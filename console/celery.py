"""The Celery app. Tasks live in deployments/engine/tasks.py; Redis is the broker."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("berth")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks live in deployments.engine.tasks; their names (deployments.tasks.*) are fixed there.
app.autodiscover_tasks(["deployments.engine", "deployments.actions"])  # the autoscaler's task is an action's
