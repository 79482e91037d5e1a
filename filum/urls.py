from django.urls import include, path

from filum.api.api import urls as api_urls
from filum.tenancy import views as tenancy_views
from filum.web import probes
from filum.web import views as web_views

urlpatterns = [
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    # The language is chosen on the sign-in page too (PUBLIC_VIEWS).
    path("i18n/setlang/", tenancy_views.set_language, name="set_language"),
    path("", web_views.home, name="home"),
    path("", include("filum.tenancy.urls")),
    path("persons/", include("filum.people.urls")),
    path("cases/", include("filum.cases.urls")),
    path("cases/", include("filum.followup.steering_urls")),
    path("records/", include("filum.records.urls")),
    path("cases/", include("filum.journal.urls")),
    path("", include("filum.followup.urls")),
    path("", include("filum.documents.urls")),
    path("", include("filum.assessments.urls")),
    path("", include("filum.plans.urls")),
    path("", include("filum.cii.urls")),
    path("", include("filum.exchange.urls")),
    path("", include("filum.api.urls")),
    path("steering/", include("filum.steering.urls")),
    path("api/", api_urls()),
]

handler500 = "filum.web.probes.server_error"
