"""The gateway: HAProxy as the data plane, driven from the database.

- `state.py` reads what the gateway should serve (services, tokens, per-service limits,
  instances and the readiness the prober wrote) in a few cheap queries.
- `render.py` turns that state into haproxy.cfg and its map files (pure functions).
- `haproxy.py` speaks HAProxy's runtime API (the admin socket and the master socket).
- `controller.py` runs HAProxy as a child, applies differences every tick through the
  runtime API (servers, readiness, tokens) and reloads seamlessly only when the set of
  services or their settings change.
- `metrics.py` samples HAProxy's counters and request log, and Docker's CPU/memory, into
  TrafficSample rows; `queries.py` reads them back for the API and the console.
"""
