"""Every page renders without unknown template variables, with labelled fields and no inline
script or style (CSP), and the French and German catalogues are complete (U3)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from filum.cases.models import Consent
from tests import factories

INVALID = "@@INVALID:%s@@"
TEMPLATE_DIRS = [
    Path(django_settings.BASE_DIR) / "filum" / app / "templates"
    for app in ("tenancy", "people", "cases", "records", "web", "cii")
]


@pytest.fixture
def strict_templates(settings: object) -> None:
    templates = [dict(t) for t in django_settings.TEMPLATES]
    templates[0]["OPTIONS"] = {**templates[0]["OPTIONS"], "string_if_invalid": INVALID}
    settings.TEMPLATES = templates  # type: ignore[attr-defined]


class FieldLabels(HTMLParser):
    """Collects form controls and the labels that name them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.main = 0
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "html":
            self.html_lang = attr.get("lang")
        if tag == "main":
            self.main += 1
        if tag == "label":
            self.label_depth += 1
            if attr.get("for"):
                self.label_for.add(str(attr["for"]))
        if tag in {"input", "select", "textarea"}:
            if attr.get("type") in {"hidden", "submit", "button"}:
                return
            self.controls.append({**attr, "_in_label": "1" if self.label_depth else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1

    def unlabelled(self) -> list[str]:
        return [
            str(c.get("name"))
            for c in self.controls
            if not c["_in_label"] and c.get("id") not in self.label_for and not c.get("aria-label")
        ]


def check_page(client: Client, url: str, *, method: str = "get", **kwargs: object) -> str:
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code in (200, 404, 409), (url, response.status_code)
    html = response.content.decode()
    assert "@@INVALID:" not in html, (url, re.findall(r"@@INVALID:[^@]*@@", html))
    if not kwargs.get("headers"):  # full pages, not htmx fragments
        parser = FieldLabels()
        parser.feed(html)
        assert parser.main == 1, url
        assert parser.html_lang in {"fr", "de"}, url
        assert parser.unlabelled() == [], url
    return html


@pytest.mark.parametrize("language", ["fr", "de"])
def test_u3_every_page_renders_without_unknown_variables(
    world: object, strict_templates: None, language: str, settings: Any, tmp_path: Any
) -> None:
    w = world
    case, person = w.case, w.case.client  # type: ignore[attr-defined]
    factories.ShareFactory(
        case=case,
        organisation=w.partner_org,
        sections=["journal", "plan"],  # type: ignore[attr-defined]
    )
    consent = Consent.objects.create(
        case=case,
        owner=case.owner,
        person=person,
        kind="specific",
        scope="Transmission du journal",
        sections=["journal"],
        signed_on=case.opened_on,
        recorded_by=w.worker.user,  # type: ignore[attr-defined]
    )
    assert consent.pk
    worker = w.worker.client()  # type: ignore[attr-defined]
    worker.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    for url in (
        "/cases/",
        "/cases/?scope=org&status=all",
        "/cases/?scope=shared",
        f"/cases/{case.pk}/",
        f"/cases/{case.pk}/edit/",
        f"/cases/{case.pk}/close/",
        f"/cases/{case.pk}/shares/new/",
        f"/cases/{case.pk}/consents/new/",
        f"/cases/new/{person.pk}/",
        "/persons/",
        "/persons/new/",
        f"/persons/{person.pk}/",
        f"/persons/{person.pk}/edit/",
        "/logout/",
        f"/cases/{w.other_case.pk}/",  # type: ignore[attr-defined]
    ):
        check_page(worker, url)
    # forms with errors, search results, duplicate hints (page and htmx fragment)
    check_page(worker, f"/cases/{case.pk}/shares/new/", method="post", data={})
    check_page(worker, f"/cases/{case.pk}/close/", method="post", data={})
    check_page(worker, "/persons/", method="post", data={"q": person.last_name})
    check_page(
        worker,
        "/persons/",
        method="post",
        data={"q": person.last_name},
        headers={"HX-Request": "true"},
    )
    html = check_page(
        worker,
        "/persons/new/",
        method="post",
        data={"last_name": person.last_name, "first_name": person.first_name},
    )
    assert 'name="confirm_new"' in html
    check_page(
        worker,
        "/persons/new/duplicates/",
        method="post",
        data={"last_name": person.last_name},
        headers={"HX-Request": "true"},
    )
    # a conflicting edit
    check_page(
        worker,
        f"/persons/{person.pk}/edit/",
        method="post",
        data={"last_name": "X", "first_name": "Y", "version": 0},
    )

    partner = w.partner.client()  # type: ignore[attr-defined]
    partner.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    html = check_page(partner, f"/cases/{case.pk}/")
    assert 'id="section-journal"' in html and 'id="section-core"' not in html
    check_page(partner, "/cases/")

    superuser = w.superuser.client()  # type: ignore[attr-defined]
    check_page(superuser, "/organisation/members/")
    check_page(superuser, "/organisation/members/", method="post", data={})

    dpo = w.dpo.client()  # type: ignore[attr-defined]
    check_page(dpo, "/records/audit/")
    check_page(dpo, "/records/audit/", method="post", data={"number": 999999})
    check_page(dpo, f"/records/audit/{case.pk}/")
    check_page(dpo, f"/records/audit/{case.pk}/?date_from=2030-01-01&date_to=2020-01-01")

    # the canton analyst's indicators (decision 0032), with and without an extract
    from filum.steering.extract import extract_canton

    settings.CANTON_DATASET_DIR = tmp_path / "canton-dataset"
    analyst = w.analyst.client()  # type: ignore[attr-defined]
    check_page(analyst, "/steering/indicators/")
    extract_canton(w.service_org.canton)  # type: ignore[attr-defined]
    check_page(analyst, "/steering/indicators/")
    check_page(analyst, "/steering/indicators/ais_language_a1/?by=commune&service=x")
    check_page(Client(), "/login/")
    check_page(Client(), "/login/?expired=1")
    check_page(Client(), "/login/", method="post", data={"username": "x", "password": "y"})


def test_r1_mfa_pages_render(world: object, strict_templates: None) -> None:
    persona = world.worker  # type: ignore[attr-defined]
    client = persona.client()
    html = check_page(client, "/account/mfa/setup/")
    assert 'src="data:image/svg+xml;base64,' in html
    TOTPDevice.objects.create(user=persona.user, name="phone", confirmed=True)
    check_page(client, "/account/mfa/verify/")
    check_page(client, "/account/mfa/verify/", method="post", data={"token": "000000"})


def test_a1_user_without_membership_sees_no_membership_page(
    db: object, strict_templates: None
) -> None:
    user = factories.UserFactory()
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert "@@INVALID:" not in response.content.decode()


def test_r40_templates_have_no_inline_script_or_style() -> None:
    offenders = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            text = path.read_text()
            if re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text):
                offenders.append(f"{path}: inline <script>")
            if re.search(r"<style|\sstyle=|\son[a-z]+=", text):
                offenders.append(f"{path}: inline style or event handler")
    assert offenders == []


def _entries(po: Path) -> list[dict[str, str]]:
    entries = []
    for block in po.read_text().split("\n\n"):
        entry: dict[str, str] = {"flags": ""}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            match = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                key = match.group(1)
                entry[key] = match.group(2)
            elif line.startswith('"') and key:
                entry[key] += line[1:-1]
        if "msgid" in entry and entry["msgid"]:
            entries.append(entry)
    return entries


@pytest.mark.parametrize("language", ["fr", "de"])
def test_u3_catalogue_is_complete(language: str) -> None:
    po = Path(django_settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    entries = _entries(po)
    assert len(entries) > 300
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    missing = [
        e["msgid"] for e in entries if not all(v for k, v in e.items() if k.startswith("msgstr"))
    ]
    assert fuzzy == []
    assert missing == []


@pytest.mark.parametrize(
    ("language", "english", "expected"),
    [
        ("fr", "AHV number", "Numéro AVS"),
        ("de", "AHV number", "AHV-Nummer"),
        ("fr", "Social service", "Service social"),
        ("de", "Social service", "Sozialdienst"),
        (
            "de",
            "Child and adult protection authority",
            "KESB (Kindes- und Erwachsenenschutzbehörde)",
        ),
    ],
)
def test_u3_official_labels(language: str, english: str, expected: str) -> None:
    with translation.override(language):
        assert translation.gettext(english) == expected


def test_x1_membership_switcher_only_with_several_memberships(world: object) -> None:
    worker = world.worker  # type: ignore[attr-defined]
    client = worker.client()
    assert 'name="membership"' not in client.get("/persons/").content.decode()
    second = factories.MembershipFactory(
        user=worker.user,
        organisation=world.partner_org,  # type: ignore[attr-defined]
        role="partner_staff",
    )
    html = client.get("/persons/").content.decode()
    assert html.count('name="membership"') == 2
    assert f'value="{second.pk}"' in html
    response = client.post("/account/membership/", {"membership": second.pk})
    assert response.status_code == 302
    html = client.get("/cases/").content.decode()
    assert world.partner_org.name in html  # type: ignore[attr-defined]
    assert 'nav class="app-nav"' in html and 'href="/persons/"' in html


def test_r2_lockout_page_after_too_many_failures(world: object, strict_templates: None) -> None:
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "worker", "password": "wrong password"})
    response = client.post("/login/", {"username": "worker", "password": factories.PASSWORD})
    html = response.content.decode()
    assert response.status_code == 429
    assert "15 minutes" in html and 'role="alert"' in html
    assert "@@INVALID:" not in html


# The main navigation per role (filum.web.templatetags.filum.main_menu, U4): the role's items
# in this order, the current page's marked.
MENU_OF_ROLE = {
    "worker": [
        "/cockpit/",
        "/cockpit/integration/",
        "/steering/persons/",
        "/cases/",
        "/tasks/",
        "/persons/",
        "/catalogue/",
    ],
    "partner": ["/cockpit/", "/cases/", "/persons/", "/catalogue/"],
    "dpo": ["/records/audit/"],
}


@pytest.mark.parametrize("persona", list(MENU_OF_ROLE))
@pytest.mark.parametrize(("language", "dossiers"), [("fr", "Dossiers"), ("de", "Dossiers")])
def test_u4_main_menu_per_role(world: object, persona: str, language: str, dossiers: str) -> None:
    client = getattr(world, persona).client()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get("/cases/" if persona != "dpo" else "/records/audit/").content.decode()
    nav = html[html.index('<nav class="app-nav"') : html.index("</nav>")]
    hrefs = re.findall(r'<li><a href="([^"]+)"', nav)
    assert hrefs == MENU_OF_ROLE[persona]
    assert nav.count('aria-current="page"') == 1
    current = "/cases/" if persona != "dpo" else "/records/audit/"
    assert f'<a href="{current}" aria-current="page">' in nav
    if persona != "dpo":
        assert f'<a href="/cases/" aria-current="page">{dossiers}</a>' in nav
