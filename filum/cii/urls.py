"""URLs of the cii app, mounted at the site's root: each path names its full prefix."""

from django.urls import path

from filum.cii import views

urlpatterns = [
    path("cii/report/", views.cii_report, name="cii_report"),
    path("cii/report.csv", views.cii_report_csv, name="cii_report_csv"),
    path("cii/new/person/<uuid:person_id>/", views.cii_open_person, name="cii_open_person"),
    path("cii/new/case/<uuid:case_id>/", views.cii_open_case, name="cii_open_case"),
    path("cii/<uuid:case_id>/", views.cii_detail, name="cii_detail"),
    path("cii/<uuid:case_id>/profile/", views.cii_profile, name="cii_profile"),
    path("cii/<uuid:case_id>/coordinator/", views.cii_coordinator, name="cii_coordinator"),
    path("cii/<uuid:case_id>/partners/new/", views.cii_partner_add, name="cii_partner_add"),
    path(
        "cii/<uuid:case_id>/partners/<int:partner_id>/remove/",
        views.cii_partner_remove,
        name="cii_partner_remove",
    ),
    path("cii/<uuid:case_id>/authorisation/", views.cii_renew, name="cii_renew"),
    path("cii/<uuid:case_id>/close/", views.cii_close, name="cii_close"),
]
