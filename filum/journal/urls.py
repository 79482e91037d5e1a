"""Journal URLs, mounted under /cases/."""

from django.urls import path

from filum.journal import views

urlpatterns = [
    path("<uuid:case_id>/journal/", views.journal_list, name="journal_list"),
    path("<uuid:case_id>/journal/new/", views.contact_create, name="contact_create"),
    path(
        "<uuid:case_id>/journal/<int:contact_id>/correct/",
        views.contact_correct,
        name="contact_correct",
    ),
    path(
        "<uuid:case_id>/journal/<int:contact_id>/versions/",
        views.contact_history,
        name="contact_history",
    ),
    path("<uuid:case_id>/journal/agreement/", views.service_agreement, name="service_agreement"),
]
