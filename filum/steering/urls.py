from django.urls import URLPattern, URLResolver, path

from filum.steering import analyst_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("indicators/", analyst_views.indicator_list, name="indicator_list"),
    path("indicators/<slug:key>/", analyst_views.indicator_detail, name="indicator_detail"),
]
