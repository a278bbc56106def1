"""The Celery app. Tasks live in deployments/tasks.py; Redis is the broker."""

import os

from celery import Celery

from deployments import health

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("berth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
health.install_celery_heartbeats(app)  # worker and beat write heartbeats (/healthz?full=1)
