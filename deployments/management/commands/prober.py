from django.core.management.base import BaseCommand

from deployments.engine.prober import Prober


class Command(BaseCommand):
    help = "Probe every instance with its service's health checks and write readiness to the DB (runs forever)."

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=0.2, help="seconds between passes")

    def handle(self, *args, tick: float, **options):
        Prober(tick=tick).run_forever()
