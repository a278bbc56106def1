"""A bounded Schemathesis run over every operation of /api/v1/openapi.json against the WSGI app.

Asserts, for generated valid and invalid requests: never a 5xx, and responses match the schema where it
declares one. Bounded (BERTH_FUZZ_EXAMPLES examples per operation, 5 by default) to stay within about two
minutes in `make test`. Operations that talk to Docker or a registry are left out: they need the stack.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from deployments.actions.api_keys import api_key_create
from deployments.actions.workspaces import workspace_current_ensure

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("BERTH_FUZZ_EXAMPLES", "5"))
# These reach Docker hosts or image registries (pull, logs): outside a unit-level fuzz run.
NEEDS_THE_STACK = ("/api/v1/services/test-pull", "/api/v1/services/{name}/logs")


@pytest.fixture
def api_schema(db):
    from console.wsgi import application

    # As Django's test client does: the WSGI handler would otherwise close the test's DB connection.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json?format=json", application).exclude(
        path=list(NEEDS_THE_STACK)
    )
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_key_header(alice):
    workspace_current_ensure(user=alice)
    _, plain = api_key_create(user=alice, name="fuzz")
    return {"Authorization": f"Bearer {plain}"}


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_operation_answers_5xx_or_breaks_its_declared_schema(case, api_key_header):
    case.call_and_validate(headers=api_key_header, checks=[not_a_server_error, response_schema_conformance])


def test_the_services_operations_declare_their_response_schemas():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    def ref(path, method, code):
        content = paths[path][method]["responses"][code]["content"]["application/json"]["schema"]
        return content.get("$ref", "")

    assert ref("/api/v1/services", "get", "200").endswith("/ServiceList")
    assert ref("/api/v1/services", "post", "201").endswith("/ServiceDetail")
    assert ref("/api/v1/services", "post", "400").endswith("/ConfigErrors")
    assert ref("/api/v1/services/{name}", "get", "200").endswith("/ServiceDetail")
    assert ref("/api/v1/services/{name}", "get", "404").endswith("/DetailError")
