from django.urls import path

from filum.records import disposal_views, subject_access_views, views

urlpatterns = [
    path("audit/", views.audit_find, name="audit_find"),
    path("audit/<uuid:case_id>/", views.audit_case, name="audit_case"),
    path("denials/", views.audit_denials, name="audit_denials"),
    path("retention/", disposal_views.disposal_list, name="disposal_list"),
    path("retention/approve/", disposal_views.disposal_approve, name="disposal_approve"),
    path("retention/hold/", disposal_views.disposal_hold, name="disposal_hold"),
    path("retention/lift/", disposal_views.disposal_lift, name="disposal_lift"),
    path("retention/receipt/", disposal_views.disposal_receipt, name="disposal_receipt"),
    # a person's subject access export (nFADP art. 25, decision 0037)
    path("subject/", subject_access_views.subject_access_find, name="subject_access_find"),
    path("subject/<uuid:person_id>/", subject_access_views.subject_access, name="subject_access"),
]
