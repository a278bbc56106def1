"""The deploy engine: converge each service's actual instances towards its desired state.

Typed against the runtime protocol (deployments.runtime); see docs/architecture.md for the parts.
"""
