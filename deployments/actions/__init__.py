"""The write layer: one module per entity, one function per action (see docs/architecture.md)."""
