from django.urls import path

from filum.records import views

urlpatterns = [
    path("audit/", views.audit_find, name="audit_find"),
    path("audit/<uuid:case_id>/", views.audit_case, name="audit_case"),
    path("denials/", views.audit_denials, name="audit_denials"),
]
