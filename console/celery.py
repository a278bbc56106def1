"""The Celery app. Tasks live in deployments/engine/tasks.py; Redis is the broker."""

import os

from celery import Celery

from deployments import heartbeats

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("berth")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks live in deployments.engine.tasks; their names (deployments.tasks.*) are fixed there.
app.autodiscover_tasks(["deployments.engine"])
heartbeats.install_celery_heartbeats(app)  # worker and beat write heartbeats (/healthz?full=1)
