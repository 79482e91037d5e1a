from django.apps import AppConfig


class CiiConfig(AppConfig):
    name = "filum.cii"
    label = "cii"
