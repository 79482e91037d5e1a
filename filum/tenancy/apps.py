from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "filum.tenancy"
    label = "tenancy"
