from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from deployments.actions.api_keys import api_key_create


class Command(BaseCommand):
    help = "Make an API key for a user and print it (it is shown once; only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="CLI key", help="a label for the key")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"there is no user {username!r}")
        _, plain = api_key_create(user=user, name=name)
        self.stdout.write(plain)
