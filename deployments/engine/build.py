"""Deploy from code: build a service version's main image from `berth.build` on the instance's host.

The image is tagged by a hash of what goes into it (workspace, base image id, code commit,
requirements, find_links, index_url, processor, the allspark SDK wheel), so a rebuild of the same
content is skipped. Progress lines go to the service's events (throttled); a failure raises
BuildFailed whose message names the build's last lines, and the failed-rollout path keeps the old
version serving. The SDK wheel is built once per worker process from processor/ (flit_core, no index).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from django.conf import settings

from deployments.engine.images import image_resolve
from deployments.events import event_record
from deployments.locks import lock_keepalive
from deployments.models import Service, ServiceVersion
from deployments.runtime import BuildFailed, Runtime, RuntimeFailure
from deployments.spec.checks.build import DEFAULT_PROCESSOR
from deployments.storage import git as git_repo
from deployments.storage.context import ca_bundle

# At most one progress event per this many seconds (Dockerfile steps always get one).
PROGRESS_SECONDS = 2.0
_SDK_DIR = Path(settings.BASE_DIR) / "processor"
_sdk_wheels: dict[str, Path] = {}


def build_options(config: dict) -> dict | None:
    return ((config.get("berth") or {}).get("build")) or None


def built_image(
    *, runtime: Runtime, service: Service, version: ServiceVersion, config: dict, built: dict
) -> str | None:
    """The tag of this version's built main image on the runtime's host, building it when absent; None
    when the config builds nothing. `built` caches the outcome (tag or failure) for one convergence step."""
    options = build_options(config)
    if options is None:
        return None
    key = ("build", id(runtime))
    if key not in built:
        try:
            built[key] = _build(runtime=runtime, service=service, version=version, config=config, options=options)
        except RuntimeFailure as exc:
            failure = (
                exc if isinstance(exc, BuildFailed) else BuildFailed(f"building the image from code failed: {exc}")
            )
            event_record(service=service, reason="BuildFailed", message=str(failure), warning=True)
            built[key] = failure
    if isinstance(built[key], Exception):
        raise built[key]
    return built[key]


def _build(*, runtime: Runtime, service: Service, version: ServiceVersion, config: dict, options: dict) -> str:
    git = options["code"]["git"]
    url = git_repo.clean_url(git["repo"])[0]
    with tempfile.TemporaryDirectory(prefix="berth-build-") as scratch:
        code = Path(scratch) / "code"
        commit = git_repo.clone(
            dest=code,
            repo=git["repo"],
            branch=git.get("branch"),
            commit=git.get("commit"),
            username=git.get("username"),
            password=git.get("password"),
            git=settings.BERTH_GIT_BINARY,
            ca_bundle=ca_bundle(),
            timeout=settings.BERTH_STORAGE_TIMEOUT,
            tick=lock_keepalive,
        )
        base_id = image_resolve(runtime=runtime, service=service, version=version, config=config, image=options["base"])
        wheel = sdk_wheel()
        content = {
            "workspace": service.workspace_id,
            "base": base_id,
            "commit": commit,
            "sdk": _digest(wheel.read_bytes()),
            **{k: options.get(k) for k in ("requirements", "find_links", "index_url", "processor")},
        }
        tag = f"berth-build/code:{_digest(json.dumps(content, sort_keys=True).encode())[:32]}"
        if runtime.image_has(tag):
            event_record(
                service=service, reason="BuildCached", message=f"image for {url}@{commit[:12]} already built: {tag}"
            )
            return tag
        event_record(
            service=service, reason="Building", message=f"building {tag} from {url}@{commit[:12]} on {options['base']}"
        )
        started = time.monotonic()
        context = build_context(code=code, wheel=wheel, base=options["base"], options=options)
        # Without an index every install reads files of the context: no network, not even the bridge.
        runtime.build(context, tag, _progress(service), offline=not options.get("index_url"))
    event_record(service=service, reason="Built", message=f"built {tag} in {time.monotonic() - started:.0f}s")
    return tag


def _progress(service: Service):
    last = [0.0]

    def on_line(line: str) -> None:
        lock_keepalive()
        now = time.monotonic()
        if line.startswith("Step ") or now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            event_record(service=service, reason="BuildProgress", message=line[:500])

    return on_line


def dockerfile(*, base: str, options: dict) -> str:
    """The generated Dockerfile: code in /app, the SDK and the requirements installed, `python` on PATH."""
    pip = "python3 -m pip install --no-cache-dir --disable-pip-version-check"
    find_links = " ".join(f"--find-links /app/{path}" for path in options.get("find_links") or [])
    index = f"--index-url {json.dumps(options['index_url'])}" if options.get("index_url") else ""
    if find_links and not index:
        index = "--no-index"
    lines = [
        f"FROM {base}",
        # Debian's python refuses system-wide installs unless told; older pips ignore the variable.
        "ENV PIP_BREAK_SYSTEM_PACKAGES=1 PYTHONUNBUFFERED=1",
        "COPY berth-sdk/ /opt/berth-sdk/",
        f"RUN {pip} --no-index /opt/berth-sdk/*.whl"
        ' && (command -v python >/dev/null || ln -s "$(command -v python3)" /usr/local/bin/python)',
        "COPY code/ /app/",
        "WORKDIR /app",
    ]
    if options.get("requirements"):
        lines.append(f"RUN {pip} {index} {find_links} -r /opt/berth-sdk/requirements.txt")
    lines.append(f'CMD ["python", {json.dumps(options.get("processor") or DEFAULT_PROCESSOR)}]')
    return "\n".join(lines) + "\n"


def build_context(*, code: Path, wheel: Path, base: str, options: dict) -> bytes:
    """An uncompressed tar: Dockerfile, code/ (without .git), berth-sdk/ (the wheel, requirements.txt)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", dockerfile(base=base, options=options).encode())
        _add_bytes(
            tar, "berth-sdk/requirements.txt", "".join(f"{r}\n" for r in options.get("requirements") or []).encode()
        )
        tar.add(wheel, arcname=f"berth-sdk/{wheel.name}")
        tar.add(code, arcname="code", filter=lambda info: None if _in_git(info.name) else info)
    return buffer.getvalue()


def _in_git(name: str) -> bool:
    return name.split("/")[1:2] == [".git"]


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def sdk_wheel() -> Path:
    """The allspark wheel built from processor/ (cached per worker process by the sources' hash)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in _SDK_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(_SDK_DIR)).encode() + b"\0" + path.read_bytes())
    key = digest.hexdigest()
    wheel = _sdk_wheels.get(key)
    if wheel is None or not wheel.exists():
        out = Path(tempfile.mkdtemp(prefix="berth-sdk-"))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "-w",
                str(out),
                str(_SDK_DIR),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode:
            raise BuildFailed(f"building the allspark SDK wheel failed: {result.stderr.strip()[-500:]}")
        [wheel] = out.glob("allspark-*.whl")
        _sdk_wheels[key] = wheel
    return wheel


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
