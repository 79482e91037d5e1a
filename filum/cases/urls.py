from django.urls import path

from filum.cases import transfer_views, views

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
    # dossier transfer between services (P3, P4; decision 0026)
    path("<uuid:case_id>/hand-over/", transfer_views.transfer_offer, name="transfer_offer"),
    path("transfers/", transfer_views.transfer_list, name="transfer_list"),
    path(
        "transfers/<uuid:transfer_id>/accept/",
        transfer_views.transfer_accept,
        name="transfer_accept",
    ),
    path(
        "transfers/<uuid:transfer_id>/decline/",
        transfer_views.transfer_decline,
        name="transfer_decline",
    ),
    path(
        "transfers/<uuid:transfer_id>/withdraw/",
        transfer_views.transfer_withdraw,
        name="transfer_withdraw",
    ),
]
