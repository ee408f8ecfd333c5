"""Schemathesis against the app's own OpenAPI schema: no 5xx, nothing the schema does not say.

Generated requests (valid and invalid) go over real HTTP to a server, with the admin key so every
route is reached; each operation gets a small, bounded number of examples.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ADMIN_KEY, RunningApi, ingested_services, serve

EXAMPLES_PER_OPERATION = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    root = tmp_path_factory.mktemp("fuzz")
    with serve(ingested_services(root / "data", root / "corpus")) as running:
        yield running


def _fuzz_operation(operation, mode: GenerationMode, failures: list[str]) -> None:
    """Run bounded generated requests for one operation; collect failures rather than stop."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        pass  # no invalid request exists for an operation without parameters or body
    except (Exception, BaseExceptionGroup) as exc:  # report it with its operation, go on
        failures.append(f"{operation.label} ({mode.value}): {exc}"[:2000])


@pytest.mark.integration
def test_every_operation_conforms_to_the_openapi_schema(fuzzed_api: RunningApi):
    schema = schemathesis.openapi.from_url(f"{fuzzed_api.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, failures)
    assert not failures, "\n\n".join(failures)


@pytest.mark.integration
def test_stateful_sequences_over_the_schema_links_conform(tmp_path_factory):
    """Schemathesis's stateful phase on a scratch index: sequences that follow the schema's
    links (an answer to its feedback, an upload to its removal or release) with every check."""
    root = tmp_path_factory.mktemp("stateful")
    with serve(ingested_services(root / "data", root / "corpus")) as running:
        schema = schemathesis.openapi.from_url(f"{running.base_url}/openapi.json")
        links = [
            (op.label, name)
            for result in schema.get_all_operations()
            for op in [result.ok()]
            for response in op.definition.raw.get("responses", {}).values()
            for name in response.get("links", {})
        ]
        assert {name for _, name in links} >= {
            "RateThisAnswer",
            "RemoveThisDocument",
            "ReleaseItsPassages",
        }

        class Workflow(schema.as_state_machine()):  # type: ignore[misc]
            def get_call_kwargs(self, case):
                return {"headers": {"Authorization": f"Bearer {ADMIN_KEY}"}}

            def validate_response(self, response, case, additional_checks=(), **kwargs):
                case.validate_response(response, checks=CHECKS)

        Workflow.run(
            settings=settings(
                max_examples=25,
                stateful_step_count=4,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
        )
        # The sequences went past single calls: answers were rated through the link.
        assert list(running.services.feedback.records()), "no answer was rated via its link"


def test_the_schema_says_what_this_server_is_configured_to_do(tmp_path):
    """The modes an extractive-only server offers, and the request id on every response."""
    from assistant.api import create_app
    from assistant.services import build_services
    from tests.api.conftest import api_settings

    schema = create_app(build_services(api_settings(tmp_path / "data"))).openapi()
    mode = schema["components"]["schemas"]["AskRequest"]["properties"]["mode"]
    assert [o["enum"] for o in mode["anyOf"] if "enum" in o] == [["extractive"]]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                assert "X-Request-ID" in response.get("headers", {}), (path, method, status)
    retrieve = schema["components"]["schemas"]["RetrieveRequest"]["properties"]["k"]
    assert (retrieve["minimum"], retrieve["maximum"]) == (1, 50)
