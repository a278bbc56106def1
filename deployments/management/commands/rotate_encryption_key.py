from django.core.management.base import BaseCommand, CommandError

from deployments.operations.rotation import RotationError, rotate_encryption_key


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under a new encryption key, in one transaction. With the key in "
        "var/encryption_key a new key is generated and written there after the commit; with "
        "BERTH_ENCRYPTION_KEY set, set it to the new key and BERTH_ENCRYPTION_OLD_KEYS to the old ones first. "
        "Stop web, worker and gateway before, restart them after."
    )

    def handle(self, *args, **options):
        try:
            result = rotate_encryption_key()
        except RotationError as exc:
            raise CommandError(str(exc)) from exc
        for column, count in sorted(result.columns.items()):
            self.stdout.write(f"  {column}: {count}")
        where = f"; new key written to {result.key_file}" if result.key_file else ""
        self.stdout.write(f"re-encrypted {result.rows} stored secret(s){where}")
        if not result.key_file:
            self.stdout.write("now remove BERTH_ENCRYPTION_OLD_KEYS and restart every process")
        else:
            self.stdout.write("restart every process so it reads the new key")
