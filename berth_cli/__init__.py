"""berth: the command-line client of a Berth console, modelled on Alibaba Cloud PAI-EAS's `eascmd`.

Standard library only and no imports from the Django project, so the package runs on a
laptop with just Python (3.10+): `python -m berth_cli ...`, or as one zipapp file
(`make berth.pyz`, then `python3 berth.pyz ...`). It talks to the console's REST API
(/api/v1/) with an API key.

Settings come from, highest first: --endpoint / --api-key, the environment
(BERTH_ENDPOINT, BERTH_API_KEY), then a profile of ~/.berth/config (`-c NAME`,
default "default"). Exit codes: 0 done, 1 failed (the server said no, a deploy
failed, a timeout), 2 bad usage, 130 interrupted.

Layout: `client` (settings, HTTP, errors), `output` (tables and lines), `inputs`
(config files, -D values), `wait` (following a rollout), and one module per command
under `commands/`, each with `register(subparsers)` and its handler.
"""

VERSION = "0.1.0"
