"""A user name and password written into a git mount's URL, moved to git.username / git.password.

`https://user:pass@host/repo.git` would be stored and shown in clear: the URL is not a secret,
`git.password` is (deployments.spec.secrets). So the pipeline moves them before the model
sees the config, and says so in a warning.
"""

from deployments.spec.credentials import url_credentials
from deployments.spec.paths import Problem

MOVED_MESSAGE = (
    "the credentials in the URL were moved to {keys}, and the URL is kept without them: "
    "git.password is a secret, masked wherever the config is shown"
)
CONFLICT_MESSAGE = (
    "differs from the {what} in the repo URL; give the credentials once: "
    "remove them from the URL and keep git.username and git.password"
)
_WHAT = {"username": "user name", "password": "password"}


def move_git_credentials(data: dict) -> tuple[dict, list[Problem], list[Problem]]:
    """(data, problems, warnings): each storage[i].git.repo without user info, its user name and password
    in git.username / git.password.

    The input is not modified: changed entries are copies. A URL credential that differs from
    the username / password given beside it is a problem at that key (nothing moves for that
    entry). Values of the wrong type are left for the model to report.
    """
    storage = data.get("storage")
    if not isinstance(storage, list):
        return data, [], []
    problems: list[Problem] = []
    warnings: list[Problem] = []
    entries = list(storage)
    for i, mount in enumerate(storage):
        git = mount.get("git") if isinstance(mount, dict) else None
        if not isinstance(git, dict) or not isinstance(git.get("repo"), str):
            continue
        clean, user, password = url_credentials(git["repo"])
        if clean == git["repo"]:
            continue
        found = {key: value for key, value in (("username", user), ("password", password)) if value}
        conflicts = [key for key, value in found.items() if key in git and git[key] != value]
        if conflicts:
            problems += [(("storage", i, "git", key), CONFLICT_MESSAGE.format(what=_WHAT[key])) for key in conflicts]
            continue
        entries[i] = {**mount, "git": {**git, **found, "repo": clean}}
        if found:
            keys = " and ".join(f"git.{key}" for key in found)
            warnings.append((("storage", i, "git", "repo"), MOVED_MESSAGE.format(keys=keys)))
    if entries == storage:
        return data, problems, warnings
    return {**data, "storage": entries}, problems, warnings
