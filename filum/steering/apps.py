from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SteeringConfig(AppConfig):
    """Steering data (D1-D7): indicator definitions, person-level lists and exports, the
    canton's anonymised dataset, the federal statistics and each service's monitoring."""

    name = "filum.steering"
    label = "steering"
    verbose_name = _("Steering data")
