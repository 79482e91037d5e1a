from django.urls import URLPattern, URLResolver, path

from filum.steering import shs_views

urlpatterns: list[URLPattern | URLResolver] = [
    # federal statistics and monitoring (D6, D7; decision 0035)
    path("monitoring/", shs_views.monitoring_page, name="steering_monitoring"),
    path("shs/", shs_views.shs_deliveries, name="shs_deliveries"),
    path("shs/<int:delivery_id>/", shs_views.shs_delivery_download, name="shs_delivery_download"),
    path("platform/shs-mapping/", shs_views.platform_shs_mapping, name="platform_shs_mapping"),
]
