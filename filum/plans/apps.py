from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "filum.plans"
    label = "plans"
