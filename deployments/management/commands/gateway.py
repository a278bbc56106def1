import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from deployments.gateway.controller import Controller, options_from_settings


class Command(BaseCommand):
    help = (
        "Run the gateway: render HAProxy's config from the DB, start HAProxy as a child and keep it "
        "current (runtime API, seamless reloads); sample traffic metrics. Runs until SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=settings.BERTH_GATEWAY_TICK, help="seconds between DB polls")
        parser.add_argument(
            "--metrics-interval",
            type=float,
            default=settings.BERTH_GATEWAY_METRICS_INTERVAL,
            help="seconds between traffic samples (0: no samples)",
        )

    def handle(self, *args, tick: float, metrics_interval: float, **options):
        controller = Controller(
            options_from_settings(settings),
            haproxy=settings.BERTH_GATEWAY_HAPROXY,
            tick=tick,
            metrics_interval=metrics_interval,
            retention_hours=settings.BERTH_GATEWAY_METRICS_RETENTION_HOURS,
        )

        def shutdown(*_):
            controller.stop()
            sys.exit(0)

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        controller.start()
        try:
            controller.run_forever()
        finally:
            controller.stop()
