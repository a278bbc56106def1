"""Limit/offset pagination with bounds: a huge `limit` or `offset` is clamped, never passed to the database."""

from rest_framework.pagination import LimitOffsetPagination

# SQLite and PostgreSQL take 64-bit integers; anything past this is no real position anyway.
MAX_OFFSET = 2**62


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 1000

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
