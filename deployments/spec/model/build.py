"""`berth.build`: deploy from code. Berth builds the main container's image from a base image, the code, pip
requirements and the allspark SDK; see docs/processor.md "Deploy from code"."""

from typing import Annotated

from pydantic import AfterValidator

from deployments.spec.model.base import SpecModel, fail, opt, req, with_message
from deployments.spec.model.leaves import Image, Text
from deployments.spec.model.storage import GitMount


def _requirement(value: str) -> str:
    # pip options would change where everything is installed from: find_links / index_url say that.
    if value.strip().startswith("-"):
        fail("must be a requirement such as numpy==1.26.4, not a pip option: use find_links or index_url")
    if "\n" in value:
        fail("must be one requirement on one line")
    return value.strip()


def _relative(value: str) -> str:
    parts = value.strip("/").split("/")
    if value.startswith("/") or ".." in parts or not value.strip("/"):
        fail("must be a path inside the code, e.g. app.py or wheels (no leading / and no ..)")
    return value


Requirement = Annotated[str, with_message("must be a string"), AfterValidator(_requirement)]
CodePath = Annotated[str, with_message("must be a string: a path inside the code"), AfterValidator(_relative)]


class CodeSource(SpecModel):
    """Where the code comes from: a git repository (same keys as storage[].git)."""

    git: GitMount = req("Clone a git repository (HTTPS) on the worker; keys as storage[].git. git.password is secret.")


class BuildOptions(SpecModel):
    base: Image = req("Base image with python3 and pip, e.g. python:3.11-slim.")
    code: CodeSource = req('Where the code is: {"git": {"repo": "https://...", "branch": "main"}}.')
    requirements: list[Requirement] = opt('pip requirements installed in the image, e.g. ["numpy==1.26.4"].')
    find_links: list[CodePath] = opt(
        "Directories of wheels inside the code. Without index_url, pip installs from them alone (no index)."
    )
    index_url: Text = opt("A pip index URL reachable from the Docker host's build network.")
    processor: CodePath = opt("The processor file the container runs with python (default app.py).")
