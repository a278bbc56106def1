"""`berth logs NAME [-f]`: an instance's logs, or a stream of them until Ctrl-C."""

from __future__ import annotations

import http.client
import sys

from berth_cli.client import Client, CliError, service_path
from berth_cli.commands.base import add_command

EPILOG = """\
Examples:
  berth logs my_service                      # the first instance, last 200 lines
  berth logs my_service --instance my_service-1-2 --tail 50
  berth logs my_service -f                   # follow; Ctrl-C to stop"""


def register(subparsers) -> None:
    p = add_command(subparsers, "logs", run, "print an instance's logs", EPILOG)
    p.add_argument("name")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("--instance", metavar="NAME", help="instance name (see `berth w`; default: the first)")
    p.add_argument("--tail", type=int, metavar="N", help="lines from the end (default 200)")


def run(args, client: Client) -> int:
    query = {"instance": args.instance, "tail": args.tail}
    if not args.follow:
        _, text = client.call("GET", service_path(args.name, "logs"), query=query)
        sys.stdout.write(str(text or ""))
        sys.stdout.flush()
        return 0
    # No read timeout: a quiet service may log nothing for minutes.
    response = client.open("GET", service_path(args.name, "logs"), query={**query, "follow": "true"}, timeout=None)
    with response:
        out = sys.stdout.buffer
        while True:
            try:
                chunk = response.read1(65536)
            except KeyboardInterrupt:
                return 130  # the way to stop following: no message needed
            except (http.client.HTTPException, ConnectionError) as exc:
                raise CliError(f"the log stream broke: {exc or type(exc).__name__}")
            if not chunk:
                return 0
            out.write(chunk)
            out.flush()
