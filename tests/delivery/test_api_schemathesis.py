"""Schemathesis against the API's own OpenAPI document, on a live server: every operation,
generated valid and invalid requests, and stateful sequences that follow the document's links.

No answer may be a server error or contradict the document (status code, content type,
headers, body schema).
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from delivery.http_api.app import api
from tests.delivery.api_client import make_key
from tests.factories import make_integration

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
# API_FUZZ_EXAMPLES=500 for a longer hunt than the suite's.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))
EXAMPLES = settings(max_examples=MAX_EXAMPLES, deadline=None,
                    suppress_health_check=list(HealthCheck))

# The document the server serves at /api/v1/openapi.json (a test below holds them equal),
# built here because schemathesis's lazy fixture loader does not run on pytest 9.
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(api.get_openapi_schema())))


@pytest.fixture
def auth(transactional_db) -> dict[str, str]:
    make_integration()
    _, key = make_key(scopes=["send", "read", "suppressions"], rate_limit_per_minute=10**6)
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@EXAMPLES
def test_no_request_gets_a_server_error_or_an_answer_outside_the_schema(case, auth, live_server):
    case.call_and_validate(base_url=live_server.url, headers=auth, checks=CHECKS)


def test_the_document_tested_is_the_one_served(live_server):
    import requests

    served = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=10).json()
    assert served == schema.raw_schema


def test_sequences_that_follow_the_links_hold_to_the_schema(live_server, auth):
    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": live_server.url, "headers": auth}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=settings(max_examples=MAX_EXAMPLES // 2, stateful_step_count=6,
                                   deadline=None, suppress_health_check=list(HealthCheck)))
