from django.urls import path

from filum.people import views

urlpatterns = [
    path("", views.person_search, name="person_search"),
    path("new/", views.person_create, name="person_create"),
    path("new/duplicates/", views.person_duplicates, name="person_duplicates"),
    path("new/ech-0044/", views.person_import_ech0044, name="person_import_ech0044"),
    path("<uuid:person_id>/", views.person_detail, name="person_detail"),
    path("<uuid:person_id>/edit/", views.person_edit, name="person_edit"),
    path("<uuid:person_id>/ech-0044.xml", views.person_ech0044, name="person_ech0044"),
]
