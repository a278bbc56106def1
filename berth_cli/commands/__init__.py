"""The commands of `berth`, one module each (stop/start/restart share `lifecycle`).

Each module has `register(subparsers)`, which declares its arguments, help and examples
and binds its handler. MODULES is the order `berth --help` lists them in.
"""

from berth_cli.commands import (
    autoscale,
    config,
    create,
    cronscale,
    delete,
    desc,
    events,
    lifecycle,
    logs,
    ls,
    modify,
    token,
    validate,
    version,
    w,
)

MODULES = (config, create, modify, desc, ls, w, events, logs, lifecycle, token, delete, version, validate, autoscale, cronscale)


def register_all(subparsers) -> None:
    for module in MODULES:
        module.register(subparsers)
