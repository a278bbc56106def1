from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from deployments.operations.restore import RestoreError, restore


class Command(BaseCommand):
    help = (
        "Rebuild this installation (its configured database and key files) from a `manage.py backup` archive, "
        "then leave every service to reconcile, which recreates its instances on this installation's hosts. "
        "Refuses a database that holds data unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive written by manage.py backup")
        parser.add_argument("--force", action="store_true", help="replace a database that already holds data")

    def handle(self, *args, path: str, force: bool, **options):
        try:
            result = restore(Path(path), force=force)
        except RestoreError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        self.stdout.write(
            f"restored the backup of {manifest['created_at']} ({manifest['db_vendor']}): "
            f"{result.secrets_checked} stored secret(s) decrypt, {result.instances_forgotten} old instance(s) "
            f"forgotten, {result.services_reconverging} service(s) left to reconcile"
        )
        for note in result.notes:
            self.stdout.write(f"  note: {note}")
        self.stdout.write("start Berth (make run): reconcile recreates the instances of every service that should run")
