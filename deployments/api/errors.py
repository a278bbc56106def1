"""Maps domain errors to HTTP for the API, in one place."""

from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from deployments.errors import ConfigInvalid, Conflict, Forbidden, NotFound

_STATUS = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
}


def exception_handler(exc, context):
    if isinstance(exc, ConfigInvalid):
        return Response({"errors": exc.errors, "warnings": exc.warnings}, status=status.HTTP_400_BAD_REQUEST)
    for error_class, code in _STATUS.items():
        if isinstance(exc, error_class):
            return Response({"detail": str(exc)}, status=code)
    if isinstance(exc, ParseError):
        # Same shape as validation errors, so clients handle one format.
        return Response({"errors": [{"path": "", "message": str(exc.detail)}], "warnings": []}, status=400)
    if isinstance(exc, Http404):
        return Response({"detail": "not found"}, status=status.HTTP_404_NOT_FOUND)
    return drf_exception_handler(exc, context)
