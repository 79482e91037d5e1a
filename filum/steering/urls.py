from django.urls import URLPattern, URLResolver, path

from filum.steering import analyst_views, list_views

urlpatterns: list[URLPattern | URLResolver] = [
    # the canton analyst's indicators (D1, D3, D6; decision 0032)
    path("indicators/", analyst_views.indicator_list, name="indicator_list"),
    path("indicators/<slug:key>/", analyst_views.indicator_detail, name="indicator_detail"),
    # person-level lists (D2, D4; decision 0034)
    path("persons/", list_views.person_list, name="person_list"),
    path("persons/export.csv", list_views.person_list_csv, name="person_list_csv"),
    path("persons/export.xlsx", list_views.person_list_xlsx, name="person_list_xlsx"),
    path("persons/saved/", list_views.person_list_save, name="person_list_save"),
]
