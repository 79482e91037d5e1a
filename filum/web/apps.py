from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "filum.web"
    label = "web"
