from django.urls import path

from filum.exchange import views

urlpatterns = [
    path("cases/<uuid:case_id>/export.zip", views.case_export, name="case_export"),
    path("platform/imports/", views.platform_imports, name="platform_imports"),
]
