"""Request-body shapes the API views expect, checked in one place so a wrong shape is a 400, not a 500."""

from rest_framework.exceptions import ParseError


def object_body(request) -> dict:
    """The request's JSON body when it is an object (no body at all counts as `{}`); ParseError (400) otherwise,
    `null` included."""
    data = request.data
    if not isinstance(data, dict):
        raise ParseError(f"expected a JSON object, got {type(data).__name__ if data is not None else 'null'}")
    return data
