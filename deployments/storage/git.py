"""git mounts: a repository cloned over HTTPS on the worker, at instance start (EAS: read-only,
a redeploy picks up new commits).

Credentials never reach argv, the URL git stores, events or logs: git asks for them through
GIT_ASKPASS, a script that prints two environment variables of the git process only. A user name
and password written into the repo URL are moved there too.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from deployments.runtime import RuntimeFailure

_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$BERTH_GIT_USERNAME" ;;
  *) printf '%s\\n' "$BERTH_GIT_PASSWORD" ;;
esac
"""
# Without credentials git must not wait for a prompt: the script refuses, git says it could not read them.
_NO_ASKPASS = "#!/bin/sh\nexit 1\n"
# Variables of the worker's own environment that would redirect git to another repository or config.
_DROPPED = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
)


def clean_url(repo: str) -> tuple[str, str, str]:
    """(URL without user info, user, password from the URL): the clean URL is safe to show and store."""
    parts = urlsplit(repo)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if ":" in (parts.hostname or ""):  # an IPv6 literal
        host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")

    return (
        urlunsplit((parts.scheme, host, parts.path, parts.query, "")),
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


def _explain(stderr: str, *, url: str, branch: str | None, commit: str | None, has_credentials: bool) -> str:
    text = stderr.lower()
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "git failed")
    host = urlsplit(url).netloc
    if "could not read username" in text or "could not read password" in text or "terminal prompts disabled" in text:
        if not has_credentials:
            return f"git repository {url} asks for credentials: set git.username and git.password (a token works as the password)"
        return f"the git server refused the credentials for {url}: check git.username and git.password"
    if "authentication failed" in text or "401" in text or "403" in text or "access denied" in text:
        return f"the git server refused the credentials for {url}: check git.username and git.password"
    if branch and ("remote branch" in text and "not found" in text):
        return f"branch {branch!r} does not exist in {url}"
    if commit and (
        "reference is not a tree" in text
        or "did not match" in text
        or "unable to read tree" in text
        or "couldn't find remote ref" in text
        or "not our ref" in text
        or "bad object" in text
    ):
        return f"commit {commit} was not found in {url}"
    if "repository not found" in text or "not found" in text or "404" in text:
        return f"git repository {url} was not found: check git.repo"
    if "ssl certificate" in text or "certificate verify" in text or "server certificate verification failed" in text:
        return f"TLS to {host} failed ({last.strip()}); for a private CA, set BERTH_STORAGE_CA_BUNDLE"
    if (
        "could not resolve host" in text
        or "failed to connect" in text
        or "connection refused" in text
        or "timed out" in text
    ):
        return f"cannot reach the git server {host}: {last.strip()}"
    return f"cloning {url} failed: {last.strip()}"


def clone(
    *,
    repo: str,
    dest: Path,
    branch: str | None = None,
    commit: str | None = None,
    username: str | None = None,
    password: str | None = None,
    git: str = "git",
    ca_bundle: str | None = None,
    timeout: float = 1800,
    tick: Callable[[], None] = lambda: None,
) -> str:
    """Clone `repo` into the empty directory `dest` (depth 1 unless a commit is asked for); returns the
    commit checked out. Raises RuntimeFailure with a sentence; never shows a credential."""
    url, url_user, url_password = clean_url(repo)
    username, password = username or url_user, password or url_password
    if password and not username:
        username = "git"  # hosts that take a token as the password accept any user name
    secrets = [s for s in (password, url_password) if s]
    with tempfile.TemporaryDirectory(prefix="berth-git-") as home:
        askpass = Path(home) / "askpass.sh"
        askpass.write_text(_ASKPASS if password or username else _NO_ASKPASS)
        askpass.chmod(0o700)
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED and not k.startswith("BERTH_GIT_")}
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=home,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            GIT_ASKPASS=str(askpass),
            SSH_ASKPASS=str(askpass),
            LC_ALL="C",
            BERTH_GIT_USERNAME=username or "",
            BERTH_GIT_PASSWORD=password or "",
        )
        if ca_bundle:
            env["GIT_SSL_CAINFO"] = ca_bundle
        # No credential helper may store what askpass hands out.
        base = [git, "-c", "credential.helper=", "-c", "core.askPass=" + str(askpass)]
        deadline = time.monotonic() + timeout

        def run(*args: str) -> str:
            with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
                process = subprocess.Popen([*base, *args], env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
                while process.poll() is None:
                    tick()
                    if time.monotonic() > deadline:
                        process.kill()
                        process.wait()
                        raise RuntimeFailure(f"cloning {url} took longer than {int(timeout)}s", reason="MountFailed")
                    time.sleep(0.2)
                err.seek(0)
                out.seek(0)
                stderr = err.read().decode(errors="replace")
                for secret in secrets:
                    stderr = stderr.replace(secret, "****")
                if process.returncode:
                    raise RuntimeFailure(
                        _explain(stderr, url=url, branch=branch, commit=commit, has_credentials=bool(password)),
                        reason="MountFailed",
                    )
                return out.read().decode(errors="replace").strip()

        if commit:
            run("init", "-q", str(dest))
            run("-C", str(dest), "remote", "add", "origin", url)
            try:
                # Servers that allow fetching any commit (GitHub, GitLab, git >= 2.5 with protocol v2) send one.
                run("-C", str(dest), "fetch", "-q", "--depth", "1", "--no-tags", "origin", commit)
                run("-C", str(dest), "checkout", "-q", "--detach", "FETCH_HEAD")
            except RuntimeFailure as exc:
                if "credentials" in str(exc) or "cannot reach" in str(exc) or "TLS" in str(exc):
                    raise
                run("-C", str(dest), "fetch", "-q", "--no-tags", "origin", branch or "HEAD")
                run("-C", str(dest), "checkout", "-q", "--detach", commit)
        else:
            args = ["clone", "-q", "--depth", "1", "--single-branch", "--no-tags"]
            if branch:
                args += ["--branch", branch]
            run(*args, "--", url, str(dest))
        return run("-C", str(dest), "rev-parse", "HEAD")
