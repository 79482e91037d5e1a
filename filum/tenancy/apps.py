from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "filum.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from filum.tenancy import signals

        signals.connect()
