"""URLs of the plans app, mounted at the site's root: each path names its full prefix."""

from django.urls import path

from filum.plans import catalogue_views, timeline_views, views

MEASURE = "cases/<uuid:case_id>/plan/measures/<int:measure_id>/"

urlpatterns = [
    # the dossier's integration plan (its plan section)
    path("cases/<uuid:case_id>/plan/", views.plan_detail, name="plan_detail"),
    path("cases/<uuid:case_id>/plan/new/", views.plan_create, name="plan_create"),
    path("cases/<uuid:case_id>/plan/pdf/", views.plan_pdf, name="plan_pdf"),
    path("cases/<uuid:case_id>/plan/goals/new/", views.goal_add, name="goal_add"),
    path("cases/<uuid:case_id>/plan/goals/<int:goal_id>/", views.goal_edit, name="goal_edit"),
    path("cases/<uuid:case_id>/plan/measures/new/", views.measure_create, name="measure_create"),
    path(MEASURE, views.measure_detail, name="measure_detail"),
    path(MEASURE + "edit/", views.measure_edit, name="measure_edit"),
    path(MEASURE + "book/", views.measure_book, name="measure_book"),
    path(MEASURE + "book/cancel/", views.booking_cancel, name="booking_cancel"),
    path(MEASURE + "documents/new/", views.measure_document_upload, name="measure_document_upload"),
    path(
        MEASURE + "documents/<uuid:document_id>/",
        views.measure_document_download,
        name="measure_document_download",
    ),
    # a person's AIS timeline (decision 0021)
    path(
        "cases/<uuid:case_id>/plan/timeline/<uuid:person_id>/",
        timeline_views.person_timeline,
        name="person_timeline",
    ),
    path(
        "cases/<uuid:case_id>/plan/timeline/<uuid:person_id>/situations/new/",
        timeline_views.situation_add,
        name="situation_add",
    ),
    path(
        "cases/<uuid:case_id>/plan/timeline/<uuid:person_id>/situations/<int:entry_id>/error/",
        timeline_views.situation_in_error,
        name="situation_in_error",
    ),
    # the canton's provider catalogue and plan templates
    path("catalogue/", catalogue_views.catalogue_list, name="catalogue"),
    path("catalogue/providers/", catalogue_views.provider_list, name="provider_list"),
    path("catalogue/providers/new/", catalogue_views.provider_create, name="provider_create"),
    path(
        "catalogue/providers/<int:provider_id>/",
        catalogue_views.provider_edit,
        name="provider_edit",
    ),
    path("catalogue/programmes/new/", catalogue_views.programme_create, name="programme_create"),
    path(
        "catalogue/programmes/<int:programme_id>/",
        catalogue_views.programme_detail,
        name="programme_detail",
    ),
    path(
        "catalogue/programmes/<int:programme_id>/edit/",
        catalogue_views.programme_edit,
        name="programme_edit",
    ),
    path(
        "catalogue/programmes/<int:programme_id>/periods/new/",
        catalogue_views.period_create,
        name="period_create",
    ),
    path("catalogue/periods/<int:period_id>/", catalogue_views.period_edit, name="period_edit"),
    path("plan-templates/", catalogue_views.plan_templates, name="plan_templates"),
    path("milestone-rules/", catalogue_views.milestone_rules, name="milestone_rules"),
    path("plan-templates/new/", catalogue_views.plan_template_create, name="plan_template_create"),
    path(
        "plan-templates/<int:template_id>/",
        catalogue_views.plan_template_edit,
        name="plan_template_edit",
    ),
]
