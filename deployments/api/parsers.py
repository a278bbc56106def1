"""The API's JSON parser: DRF's, with too-deep nesting answered as a parse error (400), not a 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from deployments.spec.checks import MAX_DEPTH

TOO_DEEP = f"JSON parse error - the body is nested too deeply (a config has at most {MAX_DEPTH} levels)"


class DepthSafeJSONParser(JSONParser):
    """JSONParser whose RecursionError becomes a ParseError.

    Python's decoder recurses once per level and raises RecursionError (not the ValueError DRF
    catches) past the interpreter's limit, about 1000 levels. Shallower bodies parse, and
    deployments.spec reports their depth (MAX_DEPTH) at a path.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
