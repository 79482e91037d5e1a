"""URLs of the assessments app, mounted at the site's root: each path names its full prefix."""

from django.urls import path

from filum.assessments import link_views, template_views, views

CASE = "cases/<uuid:case_id>/assessments/"
ONE = CASE + "<uuid:assessment_id>/"
PERSON = CASE + "persons/<uuid:person_id>/"
TEMPLATES = "assessment-templates/"

urlpatterns = [
    path(CASE, views.case_assessments, name="case_assessments"),
    path(CASE + "new/", views.assessment_create, name="assessment_create"),
    path(ONE, views.assessment_detail, name="assessment_detail"),
    path(ONE + "edit/", views.assessment_edit, name="assessment_edit"),
    path(ONE + "discard/", views.assessment_discard, name="assessment_discard"),
    path(ONE + "pdf/", views.assessment_pdf, name="assessment_pdf"),
    path(ONE + "accept/", link_views.assessment_accept, name="assessment_accept"),
    path(ONE + "reject/", link_views.assessment_reject, name="assessment_reject"),
    path(CASE + "links/new/", link_views.assessment_link_create, name="assessment_link_create"),
    path(
        CASE + "links/<uuid:link_id>/revoke/",
        link_views.assessment_link_revoke,
        name="assessment_link_revoke",
    ),
    # a provider's page through a link: no account (A8, decision 0023)
    path("f/<str:token>/", link_views.assessment_link_form, name="assessment_link_form"),
    path(PERSON, views.assessment_person_history, name="assessment_person_history"),
    path(
        PERSON + "pdf/", views.assessment_person_history_pdf, name="assessment_person_history_pdf"
    ),
    path(TEMPLATES, template_views.template_list, name="template_list"),
    path(TEMPLATES + "new/", template_views.template_create, name="template_create"),
    path(TEMPLATES + "<int:template_id>/", template_views.template_detail, name="template_detail"),
    path(
        TEMPLATES + "<int:template_id>/new-version/",
        template_views.template_draft_create,
        name="template_draft_create",
    ),
    path(
        TEMPLATES + "versions/<int:version_id>/",
        template_views.template_version,
        name="template_version",
    ),
    path(
        TEMPLATES + "versions/<int:version_id>/publish/",
        template_views.template_publish,
        name="template_publish",
    ),
    path(
        TEMPLATES + "versions/<int:version_id>/change/",
        template_views.template_version_change,
        name="template_version_change",
    ),
    path(
        TEMPLATES + "versions/<int:version_id>/sections/new/",
        template_views.template_section_create,
        name="template_section_create",
    ),
    path(
        TEMPLATES + "versions/<int:version_id>/code-lists/new/",
        template_views.template_codelist_create,
        name="template_codelist_create",
    ),
    path(
        TEMPLATES + "sections/<int:section_id>/",
        template_views.template_section_edit,
        name="template_section_edit",
    ),
    path(
        TEMPLATES + "sections/<int:section_id>/fields/new/",
        template_views.template_field_create,
        name="template_field_create",
    ),
    path(
        TEMPLATES + "fields/<int:field_id>/",
        template_views.template_field_edit,
        name="template_field_edit",
    ),
    path(
        TEMPLATES + "code-lists/<int:codelist_id>/",
        template_views.template_codelist_edit,
        name="template_codelist_edit",
    ),
]
