from django.conf import settings
from django.core.management.base import BaseCommand

from deployments.actions.hosts import host_register


class Command(BaseCommand):
    help = "Register the local Docker engine as host 'local' (safe to repeat) and read its capacity."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.BERTH_LOCAL_DOCKER_URL)
        parser.add_argument("--name", default="local")

    def handle(self, *args, url: str, name: str, **options):
        host = host_register(name=name, url=url, address="127.0.0.1")
        self.stdout.write(f"host {host.name}: {host.status}, {host.cpus} CPUs, {host.memory_mb} MB {host.message}")
