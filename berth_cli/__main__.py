"""`python -m berth_cli` (and the `berth` wrapper, and berth.pyz): parse the command line, run one command.

main() is the contract: it returns the exit code and never lets a traceback out unless --debug.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from berth_cli import VERSION
from berth_cli.client import DEFAULT_PROFILE, CliError, ConfigRejected, Settings
from berth_cli.commands import register_all
from berth_cli.output import warn


def add_connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On subcommands the defaults are SUPPRESS, so `berth ls --debug` and `berth --debug ls` both work.
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection")
    group.add_argument(
        "-c",
        "--profile",
        metavar="PROFILE",
        default=default,
        help=f"profile in ~/.berth/config (default: $BERTH_PROFILE or {DEFAULT_PROFILE!r})",
    )
    group.add_argument("--endpoint", metavar="URL", default=default, help="console URL (overrides $BERTH_ENDPOINT)")
    group.add_argument("--api-key", metavar="KEY", default=default, help="API key (overrides $BERTH_API_KEY)")
    group.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="show tracebacks of unexpected errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="berth",
        description="Deploy and manage model services on a Berth console (an eascmd-style client).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n  berth config -e http://berth.example.com:8000 -k berth_xxxx\n"
        "  berth create service.json\n  berth ls\n  berth modify my_service -Dmetadata.instance=2\n\n"
        "`berth COMMAND --help` shows a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"berth {VERSION}")
    add_connection_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_all(sub)
    # After each command's own arguments, so its --help lists them first; aliases share one parser.
    for command_parser in {id(p): p for p in sub.choices.values()}.values():
        add_connection_options(command_parser, top=False)
    return parser


def run(args: argparse.Namespace) -> int:
    settings = Settings(args)
    if not args.needs_client:
        return args.handler(args, settings)
    client = settings.client()
    try:
        return args.handler(args, client)
    except ConfigRejected as exc:
        source = getattr(args, "file", None) or "the config"
        for item in exc.warnings:
            warn(f"[WARN] {item.get('path') or '(config)'}: {item.get('message')}")
        for item in exc.errors:
            warn(f"berth: {source}: {item.get('path') or '(config)'}: {item.get('message')}")
        return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CliError as exc:
        warn(f"berth: {exc}")
        return exc.code
    except KeyboardInterrupt:
        warn("\nberth: interrupted (a change already sent goes on on the server)")
        return 130
    except BrokenPipeError:
        # `berth ls | head`: the reader left; say nothing more.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        if args.debug:
            traceback.print_exc()
        else:
            warn(f"berth: unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1


def entry() -> None:
    """Exit with main()'s code: the zipapp's entry point (zipapp's generated __main__ drops return values)."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
