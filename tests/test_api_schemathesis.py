"""schemathesis against the REST API (R36, X2, decision 0028): requests generated from the
OpenAPI schema, sent through the WSGI app with a valid token on seeded data; every answer must
be no server error and match the schema (status, content type, body, headers)."""

from __future__ import annotations

import datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from filum.api import tokens
from filum.api.api import api
from filum.api.models import Scope
from filum.journal import services as journal_services
from filum.journal.models import Topic
from tests import factories

# Every default check but one: "positive data acceptance" expects every schema-valid request
# to be taken, but some rules are beyond a schema by design: an opaque cursor that no list
# gave (400), a journal entry dated in the future or an unknown topic (422).
EXCLUDED = [positive_data_acceptance]
# per operation; 19 operations: about a minute on the shared machine
EXAMPLES = 20


def seed(world):
    """The service's dossier with journal entries, a second dossier and a person of its own,
    so that generated requests that name them (the real ids are mixed in) reach data."""
    today = timezone.localdate()
    case = world.case
    for days in range(3):
        journal_services.do_record_contact(
            actor=world.worker.actor,
            case=case,
            kind="phone",
            date=today - datetime.timedelta(days=days),
            topic=Topic.objects.get(code="health"),
            note=f"Appel {days}",
        )
    factories.CaseFactory(owner=world.service_org, responsible=world.worker.user)
    return case


def test_r36_x2_schemathesis_finds_no_server_error_and_no_schema_violation(world, settings_):
    case = seed(world)
    secret = tokens.do_create_token(
        actor=world.superuser.actor, name="Fuzz", scopes=list(Scope.values), expires_at=None
    ).secret
    schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
    schema.app = get_wsgi_application()
    known = {"case_id": str(case.pk), "person_id": str(case.client_id)}
    headers = {"Authorization": f"Bearer {secret}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: set[int] = set()
    assert len(operations) == 19
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(generated=operation.as_strategy(), real=st.booleans())
        def run(generated, real):
            if real and generated.path_parameters:
                generated.path_parameters = {
                    key: known.get(key, value) for key, value in generated.path_parameters.items()
                }
            response = generated.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
            statuses.add(response.status_code)

        run()
    # the token reached data (200) and refused what is not there (404, 422): no 5xx (checked
    # for every answer by "not a server error")
    assert {200, 404, 422} <= statuses, statuses


@pytest.fixture
def settings_(settings):
    """A high rate limit, and the test's database connection kept open across the WSGI
    requests (as Django's test client does: the request signals would close it)."""
    settings.FILUM_API_RATE_LIMIT = 100_000
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield settings
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
