"""Operating an installation: encryption key rotation, backup and restore (management commands' bodies)."""
