"""`manage.py deploy_units --check | --write`: the systemd units in deploy/systemd/ from console/processes.py."""

import difflib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.units import render_units


class Command(BaseCommand):
    help = (
        "Render the production systemd units (berth-*.service, berth.target) from the process set that "
        "`make run` starts. --check (the default) fails when deploy/systemd/ differs; --write updates it."
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true", help="fail, with a diff, when the files differ (default)")
        mode.add_argument("--write", action="store_true", help="write the files, removing stale berth units")
        parser.add_argument("--dir", default=str(Path(settings.BASE_DIR) / "deploy" / "systemd"))

    def handle(self, *args, check: bool, write: bool, dir: str, **options):
        directory = Path(dir)
        wanted = render_units()
        present = {p.name: p.read_text() for p in directory.glob("berth*")} if directory.is_dir() else {}
        if write:
            directory.mkdir(parents=True, exist_ok=True)
            for name in set(present) - set(wanted):
                (directory / name).unlink()
                self.stdout.write(f"removed {name}")
            for name, text in sorted(wanted.items()):
                if present.get(name) != text:
                    (directory / name).write_text(text)
                    self.stdout.write(f"wrote {name}")
            return
        diff = []
        for name in sorted(set(present) | set(wanted)):
            old, new = present.get(name, ""), wanted.get(name, "")
            if old != new:
                diff += difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    f"committed/{name}",
                    f"rendered/{name}",
                )
        if diff:
            self.stdout.write("".join(diff))
            raise CommandError(f"{directory} differs from console/processes.py: run manage.py deploy_units --write")
        self.stdout.write(f"{directory}: {len(wanted)} units match console/processes.py")
