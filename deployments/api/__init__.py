"""The REST API under /api/v1/: thin DRF views by entity, one urls.py, auth, the error mapper.

Views validate input, call an action, serialize output; domain errors become HTTP in errors.py.
"""
