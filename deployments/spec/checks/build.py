"""Deploy from code (`berth.build`): the main container's defaults, filled in before validation.

The main container (the one with `port`, else the first) runs the image the build makes. In the stored
config its `image` is the base image (what the build starts from; the engine replaces it with the built
tag at instance start), and without command or script it runs `python <processor>`.
"""

from deployments.spec.paths import Problem

DEFAULT_PROCESSOR = "app.py"


def main_index(containers: list) -> int:
    """Index of the container that gets the gateway's traffic: the one with port, else the first."""
    for i, container in enumerate(containers):
        if isinstance(container, dict) and "port" in container:
            return i
    return 0


def fill_build_defaults(data: dict) -> list[Problem]:
    """Fill the main container's image and command from `berth.build` (in place); problems of the pairing."""
    berth = data.get("berth")
    build = berth.get("build") if isinstance(berth, dict) else None
    containers = data.get("containers")
    if not isinstance(build, dict) or not isinstance(containers, list) or not containers:
        return []
    index = main_index(containers)
    container = containers[index]
    base = build.get("base")
    if not isinstance(container, dict) or not isinstance(base, str):
        return []
    if "image" not in container:
        container["image"] = base
    elif container["image"] != base:
        message = "with berth.build the image is built from berth.build.base: leave image out (or set it to the base)"
        return [(("containers", index, "image"), message)]
    if "command" not in container and "script" not in container:
        processor = build.get("processor", DEFAULT_PROCESSOR)
        if isinstance(processor, str):
            container["command"] = f"python {processor}"
    return []
