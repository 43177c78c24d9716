"""schemathesis against the OpenAPI document, signed in as an admin on the demo: whatever it
generates, no response is a 5xx, and every response matches what the document says (status
code, content type, body schema)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.services.users import add_user, create_token
from cooptrack.web import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_keeps_its_contract(store, write):
    with write() as ctx:
        load_dataset(ctx, read_dataset(demo_path()), "fresh_wind.yaml", base=demo_path().parent)
        add_user(ctx, "admin", "admin")
        token = create_token(ctx, "admin").token
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(store, public_read=False))
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def keeps_contract(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        keeps_contract()
