from django.urls import path

from filum.records import subject_access_views, views

urlpatterns = [
    path("audit/", views.audit_find, name="audit_find"),
    path("audit/<uuid:case_id>/", views.audit_case, name="audit_case"),
    path("denials/", views.audit_denials, name="audit_denials"),
    # a person's subject access export (nFADP art. 25, decision 0037)
    path("subject/", subject_access_views.subject_access_find, name="subject_access_find"),
    path("subject/<uuid:person_id>/", subject_access_views.subject_access, name="subject_access"),
]
