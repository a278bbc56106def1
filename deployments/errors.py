"""Domain errors. Views and the API map these to HTTP in one place each."""


class BerthError(Exception):
    """Base of errors a person can act on; `str(err)` is the sentence to show."""


class NotFound(BerthError):
    """The object does not exist, or the user may not know that it does (outsiders get 404)."""


class Forbidden(BerthError):
    """The user can see the object but their role does not allow this action."""


class Conflict(BerthError):
    """The request clashes with current state (e.g. removing the last owner)."""


class ConfigInvalid(BerthError):
    """A service config failed validation; `errors` is a list of {path, message}."""

    def __init__(self, errors: list[dict], warnings: list[dict] | None = None):
        self.errors = errors
        self.warnings = warnings or []
        first = errors[0] if errors else {"path": "", "message": "invalid config"}
        super().__init__(f"{first['path'] or 'config'}: {first['message']}")
