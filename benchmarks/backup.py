"""How long backup, restore and key rotation take on an installation with many secrets.

Run from the project root: .venv/bin/python benchmarks/backup.py [SERVICES]

Builds a throwaway SQLite installation in a temp directory with SERVICES services (default
2,000), each with a token, two versions holding secrets and a registry credential (4 encrypted
values per service), then times, each in its own process as an operator would run it: `manage.py backup`,
`manage.py restore` into a second fresh directory, and `manage.py rotate_encryption_key` there.
Baselines from the same run: `manage.py check` (the cost of starting Django) and a plain
`sqlite3` file copy with the backup API. Prints figures; asserts nothing.
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLEARED = (
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "BERTH_ENCRYPTION_KEY",
    "BERTH_ENCRYPTION_KEY_FILE",
    "DATABASE_URL",
    "BERTH_SQLITE_PATH",
    "BERTH_ENCRYPTION_OLD_KEYS",
)
POPULATE = """
import django; django.setup()
from django.contrib.auth import get_user_model
from deployments.models import RegistryCredential, Service, ServiceVersion, Workspace
n = {n}
ws = Workspace.objects.create(name="bench", slug="bench")
RegistryCredential.objects.bulk_create(
    RegistryCredential(workspace=ws, name=f"r{{i}}", registry="reg", username="u", password=f"pw-{{i}}") for i in range(n))
services = Service.objects.bulk_create(Service(name=f"svc{{i}}", workspace=ws, token=f"token-{{i}}") for i in range(n))
ServiceVersion.objects.bulk_create(
    ServiceVersion(service=s, number=v, config={{}}, secrets={{"dockerAuth": f"u:p{{v}}"}}) for s in services for v in (1, 2))
"""


def env_for(var: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return {**env, "DJANGO_SETTINGS_MODULE": "console.settings", "BERTH_VAR_DIR": str(var)}


def timed(label: str, args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True, capture_output=True)
    took = time.perf_counter() - start
    print(f"{label:<48} {took:8.2f} s")
    return took


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    with tempfile.TemporaryDirectory() as tmp:
        source, target = env_for(Path(tmp) / "source"), env_for(Path(tmp) / "target")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=source, check=True)
        subprocess.run([sys.executable, "-c", POPULATE.format(n=n)], cwd=ROOT, env=source, check=True)
        database = Path(tmp) / "source" / "berth.sqlite3"
        print(f"{n:,} services, {4 * n:,} encrypted values, database {database.stat().st_size / 1e6:.1f} MB")
        timed("baseline: manage.py check (Django start)", ["manage.py", "check"], source)
        start = time.perf_counter()
        src, dst = sqlite3.connect(database), sqlite3.connect(Path(tmp) / "copy.sqlite3")
        src.backup(dst)
        src.close(), dst.close()
        print(f"{'baseline: sqlite3 backup API copy alone':<48} {time.perf_counter() - start:8.2f} s")
        archive = Path(tmp) / "b.tar.gz"
        timed("manage.py backup", ["manage.py", "backup", str(archive)], source)
        print(f"{'  archive size':<48} {archive.stat().st_size / 1e6:8.2f} MB")
        timed("manage.py restore (fresh dir, incl. migrate)", ["manage.py", "restore", str(archive)], target)
        timed("manage.py rotate_encryption_key", ["manage.py", "rotate_encryption_key"], target)


if __name__ == "__main__":
    main()
