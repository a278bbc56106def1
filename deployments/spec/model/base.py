"""Building blocks of the config model: the base class, the error helper and the field helpers.

See deployments.spec.model for the conventions (strict types, forbidden extras, opt/req, `with_message`).
"""

from typing import Annotated, Any, ClassVar, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

# Upper bound for integers without a natural one: fits the database's integer columns.
INT_MAX = 2**31 - 1
RESERVED_PORTS = (8080, 9090)
# Instances of one service (metadata.instance): one host runs them all today, so keep the number sane.
MAX_INSTANCES = 100

NAME_PATTERN = r"^[a-z][a-z0-9_]{2,62}$"
NAME_RULE = "must be 3 to 63 characters: lowercase letters, digits and underscores, starting with a letter"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def fail(message: str) -> NoReturn:
    """Raise a validation error whose text is exactly `message`.

    The text travels in the context, not the template, so braces in it are never
    taken as format fields.
    """
    raise PydanticCustomError("berth", "{message}", {"message": message})


def with_message(message: str) -> WrapValidator:
    """Replace whatever pydantic says about a leaf value with `message`."""

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            fail(message)

    return WrapValidator(wrap)


def bounded_int(ge: int, le: int = INT_MAX, message: str | None = None) -> Any:
    """An integer type in [ge, le] (bools rejected by strict mode) with one sentence for every failure."""
    if message is None:
        bounds = f"of at least {ge}" if le == INT_MAX else f"between {ge} and {le}"
        message = f"must be an integer {bounds}"

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            if type(value) is int and value > le:
                fail(f"must be at most {le}")
            fail(message)

    return Annotated[int, Field(ge=ge, le=le), WrapValidator(wrap)]


def opt(description: str, **kwargs: Any) -> Any:
    """An optional key: absent stays absent, JSON null is an error (see the module docstring)."""
    return Field(None, description=description, **kwargs)


def req(description: str, **kwargs: Any) -> Any:
    return Field(description=description, **kwargs)


class SpecModel(BaseModel):
    """Base of every typed object in the config."""

    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    # Other names accepted for keys of this object (moved to their canonical place
    # before validation); listed so that unknown-key suggestions and the JSON schema know them.
    berth_aliases: ClassVar[tuple[str, ...]] = ()
