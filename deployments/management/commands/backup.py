from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from deployments.operations.archive import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write one tar.gz archive (mode 0600) of this installation: the database, the SECRET_KEY and encryption "
        "keys, a manifest, the gateway's TLS certificate. It holds the keys to every stored secret: keep it secret."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="where to write (default: var/backups/berth-<time>.tar.gz)")

    def handle(self, *args, path: str | None, **options):
        try:
            written, manifest = backup_create(Path(path) if path else None)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(manifest["tables"].values())
        self.stdout.write(
            f"backup written to {written} ({manifest['db_vendor']}, {len(manifest['tables'])} tables, {rows} rows); "
            "it holds the encryption key: store it like a password"
        )
