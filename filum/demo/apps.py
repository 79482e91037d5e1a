from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data, the ten-year volume and the benchmark: tools above every domain app,
    imported by none of them."""

    name = "filum.demo"
    label = "demo"
