import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from deployments.actions.workspaces import workspace_current_ensure


class Command(BaseCommand):
    help = "Create an admin login if no superuser exists, and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("admin login exists (reset it with: .venv/bin/python manage.py changepassword admin)")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=password)
        workspace_current_ensure(user=user)
        self.stdout.write(f"created admin login: {username} / {password}  (shown once; keep it)")
