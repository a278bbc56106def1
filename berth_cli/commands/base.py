"""What every command module shares: making its subparser and the flags several commands take."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from berth_cli.wait import DEFAULT_WAIT


def add_command(
    subparsers,
    name: str,
    handler: Callable[..., int],
    summary: str,
    epilog: str,
    *,
    aliases: tuple[str, ...] = (),
    needs_client: bool = True,
) -> argparse.ArgumentParser:
    """Add `berth NAME`: `handler(args, client)` runs it, or `handler(args, settings)` when it
    needs no server (`needs_client=False`). The connection flags are added later by __main__."""
    parser = subparsers.add_parser(
        name,
        aliases=list(aliases),
        help=summary,
        description=summary,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # `command` is the canonical name even when an alias was typed (`berth list`).
    parser.set_defaults(command=name, handler=handler, needs_client=needs_client)
    return parser


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")


def wait_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"how long to wait (default {DEFAULT_WAIT})",
    )
    parser.add_argument("--no-wait", action="store_true", help="return once the server accepted the change")
