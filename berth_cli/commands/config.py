"""`berth config`: save a profile's endpoint and API key, or show what is in effect and where it comes from."""

from __future__ import annotations

from berth_cli.client import CliError, Settings, check_endpoint, config_path, write_profile
from berth_cli.commands.base import add_command, json_flag
from berth_cli.output import box, print_json, say

EPILOG = """\
Examples:
  berth config -e http://berth.example.com:8000 -k berth_xxxxxxxx
  berth -c staging config -e http://staging:8000 -k berth_yyyyyyyy   # a second profile
  berth config                                                        # show what is in effect

Settings are stored in ~/.berth/config (mode 0600). BERTH_ENDPOINT and BERTH_API_KEY
override the stored profile; --endpoint and --api-key override both."""


def register(subparsers) -> None:
    p = add_command(subparsers, "config", run, "show or save the endpoint and API key", EPILOG, needs_client=False)
    p.add_argument("-e", "--set-endpoint", metavar="URL", help="the console's URL, e.g. http://berth.example.com:8000")
    p.add_argument("-k", "--set-api-key", metavar="KEY", help="an API key from the console's API keys page")
    json_flag(p)


def run(args, settings: Settings) -> int:
    if args.set_endpoint is None and args.set_api_key is None:
        return show(args, settings)
    values = {}
    if args.set_endpoint is not None:
        values["endpoint"] = check_endpoint(args.set_endpoint)
    if args.set_api_key is not None:
        if not args.set_api_key.strip():
            raise CliError("the API key is empty")
        values["api_key"] = args.set_api_key.strip()
    path = write_profile(settings.profile, values)
    say(f"[OK] Saved profile {settings.profile!r} in {path}")
    return 0


def show(args, settings: Settings) -> int:
    if args.json:
        print_json(
            {
                "profile": settings.profile,
                "file": str(config_path()),
                "endpoint": settings.endpoint,
                "endpoint_source": settings.endpoint_source,
                "api_key_set": bool(settings.api_key),
                "api_key_source": settings.api_key_source,
            }
        )
        return 0
    key = settings.api_key
    # The prefix the API keys page shows (berth_ + 6), never the whole key.
    shown = (key[:12] + "…") if len(key) > 12 else ("set" if key else "")
    endpoint = f"{settings.endpoint}  [{settings.endpoint_source}]" if settings.endpoint else "(not set)"
    api_key = f"{shown}  [{settings.api_key_source}]" if key else "(not set)"
    rows = [
        ["Profile", settings.profile],
        ["ConfigFile", str(config_path())],
        ["Endpoint", endpoint],
        ["ApiKey", api_key],
    ]
    say(box(rows, right={0}))
    return 0
