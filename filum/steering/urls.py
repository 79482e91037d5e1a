from django.urls import URLPattern, URLResolver, path

from filum.steering import list_views

urlpatterns: list[URLPattern | URLResolver] = [
    # person-level lists (D2, D4; decision 0034)
    path("persons/", list_views.person_list, name="person_list"),
    path("persons/export.csv", list_views.person_list_csv, name="person_list_csv"),
    path("persons/export.xlsx", list_views.person_list_xlsx, name="person_list_xlsx"),
    path("persons/saved/", list_views.person_list_save, name="person_list_save"),
]
