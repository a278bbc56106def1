"""Request-body parsing for the API: bounded in size and in nesting.

Configs are small, so the API refuses bodies over `BERTH_API_MAX_BODY` bytes with 413 before
reading them, and a body nested deeper than the interpreter can parse answers 400, not 500.
"""

import json

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def _limit() -> int:
    return settings.BERTH_API_MAX_BODY


class BoundedJSONParser(JSONParser):
    """JSONParser that reads at most `BERTH_API_MAX_BODY` bytes and maps RecursionError to ParseError.

    Contract: raises BodyTooLarge (413) when the declared or actual length is over the limit,
    ParseError (400) for malformed or too deeply nested JSON.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = _limit()
        request = (parser_context or {}).get("request")
        declared = _declared_length(request)
        if declared is not None and declared > limit:
            raise BodyTooLarge(f"request body is larger than {limit} bytes")
        # Read one byte past the limit so a chunked or lying body is caught without reading it all.
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"request body is larger than {limit} bytes")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def _declared_length(request) -> int | None:
    if request is None:
        return None
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) or None
    except ValueError:
        return None


def _reject_constant(name: str):
    # NaN and Infinity are not JSON; DRF's strict mode refuses them too.
    raise ValueError(f"{name} is not valid JSON")
