from django.urls import path

from filum.documents import views

urlpatterns = [
    path("cases/<uuid:case_id>/documents/", views.case_documents, name="case_documents"),
    path("cases/<uuid:case_id>/documents/new/", views.document_upload, name="document_upload"),
    path(
        "documents/<uuid:document_id>/download/",
        views.document_download,
        name="document_download",
    ),
    path(
        "tasks/<int:task_id>/documents/",
        views.task_document_upload,
        name="task_document_upload",
    ),
]
