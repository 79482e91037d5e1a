from django.urls import path

from filum.cases import views

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("new/<uuid:person_id>/", views.case_create, name="case_create"),
    path("<uuid:case_id>/", views.case_detail, name="case_detail"),
    path("<uuid:case_id>/edit/", views.case_edit, name="case_edit"),
    path("<uuid:case_id>/shares/new/", views.share_create, name="share_create"),
    path(
        "<uuid:case_id>/shares/<uuid:share_id>/revoke/",
        views.share_revoke,
        name="share_revoke",
    ),
    path("<uuid:case_id>/consents/new/", views.consent_create, name="consent_create"),
    path(
        "<uuid:case_id>/consents/<int:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
]
