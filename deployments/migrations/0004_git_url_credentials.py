"""Move user names and passwords out of stored git mount URLs (security review: they were shown to everyone).

Each ServiceVersion's `storage[i].git.repo` loses its user info; the user name goes to
`git.username` and the password to the encrypted `secrets` (path `storage[i].git.password`,
the mask in `config`), as deployments.spec now does at validation. Where username/password
were already given beside the URL they win (they are what the clone used), and the URL's
copies are dropped. Self-contained on purpose: a migration must not change when the app does.
Not reversible: the credentials are not written back into URLs.
"""

from urllib.parse import unquote, urlsplit, urlunsplit

from django.db import migrations

MASK = "****"
GIT_KEY_ORDER = ("repo", "branch", "commit", "username", "password")


def split_url(url):
    """(url without user info, user or None, password or None)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None, None
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return (
        urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)),
        unquote(user),
        (unquote(password) if colon else None),
    )


def clean_version(config, secrets):
    """Rewrite `config` and `secrets` in place; True when anything changed."""
    storage = config.get("storage") if isinstance(config, dict) else None
    changed = False
    for i, mount in enumerate(storage if isinstance(storage, list) else []):
        git = mount.get("git") if isinstance(mount, dict) else None
        if not isinstance(git, dict) or not isinstance(git.get("repo"), str):
            continue
        clean, user, password = split_url(git["repo"])
        if clean == git["repo"]:
            continue
        git["repo"] = clean
        if user and "username" not in git:
            git["username"] = user
        if password and "password" not in git:
            git["password"] = MASK
            secrets[f"storage[{i}].git.password"] = password
        ordered = {key: git[key] for key in GIT_KEY_ORDER if key in git}
        mount["git"] = {**ordered, **{key: value for key, value in git.items() if key not in ordered}}
        changed = True
    return changed


def forwards(apps, schema_editor):
    ServiceVersion = apps.get_model("deployments", "ServiceVersion")
    for version in ServiceVersion.objects.iterator():
        secrets = dict(version.secrets or {})
        if clean_version(version.config, secrets):
            version.secrets = secrets
            version.save(update_fields=["config", "secrets"])


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0003_storage"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
