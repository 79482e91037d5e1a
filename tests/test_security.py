"""Response headers, the health check, production settings, cookies and oversized input
(R8, R31, R39, R40)."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client, override_settings

from filum.cases.models import Case
from filum.people.models import Person
from tests import factories
from tests.factories import PASSWORD
from tests.test_access_matrix import ENDPOINTS, build_target, reverse

ROOT = Path(__file__).resolve().parent.parent


def _production_env() -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "-_!@#%^&*"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILUM_")}
    env.update(
        FILUM_DEBUG="0",
        FILUM_SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(60)),
        FILUM_ALLOWED_HOSTS="filum.example.ch",
        FILUM_SECURE_COOKIES="1",
        DJANGO_SETTINGS_MODULE="filum.settings",
    )
    return env


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Documents made for the download URLs go to a temporary folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


def assert_security_headers(response, where: str) -> None:
    if response.streaming:  # read the download to the end, which closes the file
        b"".join(response.streaming_content)
    csp = response.get("Content-Security-Policy", "")
    directives = dict(
        (part.split(" ", 1) + [""])[:2] for part in (p.strip() for p in csp.split(";")) if part
    )
    if "script-src" in directives or directives.get("default-src") != "'none'":
        # Pages run only the app's own scripts; downloads are stricter (nothing at all).
        assert directives.get("script-src", "").split() == ["'self'"], where
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    if "sandbox" in directives and directives.get("default-src") == "'none'":
        pass  # a download: no script, no plugin, no form; framing is refused by X-Frame-Options
    else:
        assert directives.get("object-src") == "'none'", where
        assert directives.get("base-uri") == "'none'", where
        assert directives.get("frame-ancestors") == "'none'", where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", where
    assert "camera=()" in response["Permissions-Policy"], where


def test_r40_headers_on_the_public_pages(db):
    client = Client()
    for url in (reverse("login"), reverse("healthz"), "/no-such-page/"):
        response = client.get(url)
        assert_security_headers(response, url)


def test_r31_r40_headers_on_every_page_of_a_signed_in_user(world):
    bystander = factories.OrganisationFactory(name="Bystander")
    for persona in ("worker", "partner", "dpo"):
        client = getattr(world, persona).client()
        for name, endpoint in ENDPOINTS.items():
            if name in {"logout"}:
                continue
            for kind in endpoint.targets:
                url = reverse(name, kwargs=build_target(world, bystander, kind).kwargs)
                response = client.get(url)
                where = f"{persona} {url} {response.status_code}"
                assert_security_headers(response, where)
                if name not in {"healthz", "readyz"}:  # probes act as anonymous
                    assert response["Cache-Control"] == "no-store", where


def test_r31_logout_clears_the_browser_data(world):
    response = world.worker.client().post(reverse("logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'


def test_r39_healthz_answers_without_sign_in(db):
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_r39_readyz_answers_503_when_the_database_is_down(db):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("down")):
        response = Client().get(reverse("readyz"))
    assert response.status_code == 503
    assert "down" not in response.content.decode()  # no internals


def test_r39_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _production_settings() -> dict[str, object]:
    names = [
        "DEBUG",
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_NAME",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SAMESITE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    ]
    code = (
        "import json; from django.conf import settings; import django; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_r8_cookies_under_production_settings_are_host_prefixed_secure_and_httponly(world):
    production = _production_settings()
    assert production["DEBUG"] is False
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    with override_settings(**{k: v for k, v in production.items() if k != "DEBUG"}):
        client = Client()
        # Plain HTTP is sent to HTTPS.
        plain = client.get(reverse("login"))
        assert plain.status_code == 301 and plain["Location"].startswith("https://")
        page = client.get(reverse("login"), secure=True)
        assert page.status_code == 200
        response = client.post(
            reverse("login"), {"username": "worker", "password": PASSWORD}, secure=True
        )
        assert response.status_code == 302
        assert response["Strict-Transport-Security"].startswith("max-age=31536000")
        for name in ("__Host-sessionid", "__Host-csrftoken"):
            morsel = response.cookies.get(name) or page.cookies.get(name)
            assert morsel is not None, name
            assert morsel["secure"] is True, name
            assert morsel["httponly"] is True, name
            assert morsel["samesite"] == "Lax", name
            assert morsel["path"] == "/", name
            assert not morsel["domain"], name  # __Host- cookies carry no Domain


def test_r21_oversized_and_overfull_posts_are_refused_and_change_nothing(world):
    client = world.worker.client()
    persons, cases = Person.objects.count(), list(Case.objects.values_list("pk", "version"))
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(reverse("person_create"), {"last_name": big, "first_name": "A"})
    assert response.status_code == 400
    many = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    many.update(last_name="Neu", first_name="Anna")
    response = client.post(reverse("person_create"), many)
    assert response.status_code == 400
    edit = reverse("case_edit", args=[world.case.pk])
    response = client.post(edit, {**many, "title": "changed", "version": world.case.version})
    assert response.status_code == 400
    assert Person.objects.count() == persons
    assert list(Case.objects.values_list("pk", "version")) == cases


def test_r39_errors_show_no_traceback(world, settings):
    settings.DEBUG = False
    client = world.worker.client()
    client.raise_request_exception = False
    with mock.patch("filum.cases.views.render", side_effect=RuntimeError("secret-internal")):
        response = client.get(reverse("case_list"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "secret-internal" not in body and "Traceback" not in body
