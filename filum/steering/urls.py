from django.urls import URLPattern, URLResolver, path

from filum.steering import analyst_views, editor_views, list_views, shs_views

urlpatterns: list[URLPattern | URLResolver] = [
    # the canton analyst's indicators (D1, D3, D6; decision 0032)
    path("indicators/", analyst_views.indicator_list, name="indicator_list"),
    # the editor (D1, D3; decision 0039): "new" is never an indicator's key
    path("indicators/new/", editor_views.indicator_create, name="indicator_create"),
    path("indicators/<slug:key>/", analyst_views.indicator_detail, name="indicator_detail"),
    path("indicators/<slug:key>/change/", editor_views.indicator_edit, name="indicator_edit"),
    path(
        "indicators/<slug:key>/history/",
        editor_views.indicator_history,
        name="indicator_history",
    ),
    path("indicators/<slug:key>/retire/", editor_views.indicator_retire, name="indicator_retire"),
    # person-level lists (D2, D4; decision 0034)
    path("persons/", list_views.person_list, name="person_list"),
    path("persons/export/", list_views.person_list_export, name="person_list_export"),
    path(
        "persons/exports/<uuid:export_id>/",
        list_views.person_list_export_detail,
        name="person_list_export_detail",
    ),
    path(
        "persons/exports/<uuid:export_id>/file",
        list_views.person_list_export_download,
        name="person_list_export_download",
    ),
    path("persons/saved/", list_views.person_list_save, name="person_list_save"),
    # federal statistics and monitoring (D6, D7; decision 0035)
    path("monitoring/", shs_views.monitoring_page, name="steering_monitoring"),
    path("shs/", shs_views.shs_deliveries, name="shs_deliveries"),
    path("shs/<int:delivery_id>/", shs_views.shs_delivery_download, name="shs_delivery_download"),
    path("platform/shs-mapping/", shs_views.platform_shs_mapping, name="platform_shs_mapping"),
]
