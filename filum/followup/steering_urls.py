"""Case steering URLs, mounted under /cases/ by filum.cases.urls."""

from django.urls import path

from filum.followup import steering_views as views

urlpatterns = [
    path("<uuid:case_id>/close/", views.case_close, name="case_close"),
    path("<uuid:case_id>/steering/", views.case_steering, name="case_steering"),
    path("<uuid:case_id>/steering/panel/", views.case_steering_panel, name="case_steering_panel"),
    path("<uuid:case_id>/steering/intake/", views.intake_decide, name="intake_decide"),
    path("<uuid:case_id>/steering/propose/", views.segment_propose, name="segment_propose"),
    path("<uuid:case_id>/steering/transfer/", views.case_transfer, name="case_transfer"),
    path("<uuid:case_id>/steering/final/", views.segment_final, name="segment_final"),
    path("<uuid:case_id>/steering/change/", views.segment_change, name="segment_change"),
    path("<uuid:case_id>/steering/review/", views.segment_review, name="segment_review"),
    path("<uuid:case_id>/steering/request/", views.segment_request, name="segment_request"),
    path("<uuid:case_id>/steering/exit/", views.exit_potential, name="exit_potential"),
    path(
        "<uuid:case_id>/steering/requests/<int:proposal_id>/",
        views.request_answer,
        name="request_answer",
    ),
    path(
        "<uuid:case_id>/steering/proposals/<int:proposal_id>/",
        views.proposal_decide,
        name="proposal_decide",
    ),
]
