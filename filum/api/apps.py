from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "filum.api"
    label = "api"
