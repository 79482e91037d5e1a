from django.urls import path

from filum.exchange import views

urlpatterns = [
    path("cases/<uuid:case_id>/export.zip", views.case_export, name="case_export"),
    path("platform/imports/", views.platform_imports, name="platform_imports"),
    path(
        "platform/imports/<uuid:token>/readiness/",
        views.platform_import_readiness,
        name="platform_import_readiness",
    ),
    path(
        "platform/imports/<uuid:token>/readiness.pdf",
        views.platform_import_readiness_pdf,
        name="platform_import_readiness_pdf",
    ),
]
